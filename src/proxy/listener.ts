// The accept loop: the startup phase (TLS, authentication) then one Session per client socket, the client connection
// limits (authenticated and pre-authentication), graceful shutdown.
import net from 'node:net';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { AuthMethod } from '../policy/verdict.js';
import type { TextFacts } from '../sql/types.js';
import { ConnectionLimitError, PgwardenError, ProtocolError, ShuttingDown } from '../errors.js';
import { toErrorResponse } from './backend.js';
import { CancelKeys, type CancelRoute } from './cancel-keys.js';
import type { Gate } from './gate.js';
import { Session, type SessionOptions } from './session.js';
import { CloseReason } from './session-state.js';
import { StartupPhase } from './startup-phase.js';
import type { Authenticator } from './auth/authenticate.js';
import { IdentityConnections } from './auth/throttle.js';
import type { IdentityFacts } from './session-upstream.js';
import type { ServerTls } from './tls/server-tls.js';

export interface ProxyOptions extends SessionOptions {
  readonly maxClientConnections: number;
  /** Connections that have not finished authentication (silent sockets, slow handshakes) have their own, smaller limit. */
  readonly maxPreauthConnections: number;
}

/** TLS and authentication of the client leg; absent = plaintext only, every database passthrough. */
export interface ProxyIdentity {
  readonly serverTls: ServerTls | null;
  readonly tlsRequired: boolean;
  routeOf(database: string): AuthMethod;
  readonly authenticator: Authenticator | null;
  readonly maxPreAuthBytes: number;
  readonly authTimeoutMs: number;
  readonly facts: IdentityFacts;
}

export interface ProxyDeps {
  readonly options: ProxyOptions;
  gate(): Gate;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  functionCallFacts?(oid: number): TextFacts;
  /** Cancel keys routable between instances sharing a store; without it keys are local (a single instance). */
  readonly cancelRoute?: CancelRoute;
  readonly identity?: ProxyIdentity;
}

export interface Proxy {
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  /** Stops accepting; closes every client connection (in-flight statements end with the connection). */
  close(): Promise<void>;
  /**
   * Graceful shutdown: stops accepting, closes idle sessions with 57P01, withdraws held statements (57014, reason
   * shutdown), lets running statements finish for `graceMs`, then cancels them upstream and closes what is left.
   * Resolves when every session is closed (at most graceMs + CANCEL_WAIT_MS later).
   */
  drain(graceMs: number): Promise<void>;
  readonly sessionCount: number;
  readonly server: net.Server;
  /** A CancelRequest forwarded by another instance: acts on it if the key is ours. True when it was. */
  cancel(pid: number, secret: number): boolean;
}

/** A connection that has not finished authentication: in its startup phase, or a Session relaying passthrough auth. */
interface Preauth {
  readonly openedAt: number;
  readonly isSilent: boolean;
  fatal(err: unknown, reason?: CloseReason): void;
}

/** A handshake older than this is stuck (a silent or slow client), not part of a burst of new connections. */
const STUCK_MS = 1000;
/** After the grace period's cancels, how long sessions get to answer before they are closed regardless. */
const CANCEL_WAIT_MS = 5000;

/** Resolves once `done()` holds (checked on every connection close) or after `ms`. */
function until(done: () => boolean, ms: number, onChange: Set<() => void>): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => {
      if (!done()) return;
      finish();
    };
    const timer = setTimeout(() => finish(), ms);
    const finish = () => {
      clearTimeout(timer);
      onChange.delete(check);
      resolve();
    };
    onChange.add(check);
  });
}

export function createProxy(deps: ProxyDeps): Proxy {
  const sessions = new Set<Session>();
  const phases = new Set<StartupPhase>();
  /** Startup phases and sessions that have not finished authentication yet. */
  const preauth = new Set<Preauth>();
  let preauthSessions = 0;
  const onClosed = new Set<() => void>();
  const identityConnections = new IdentityConnections();
  const identity = deps.identity;
  /**
   * Handshakes that take longer than STUCK_MS count against limits.max_preauth_connections (fresh ones never do, so a
   * burst of pool connections is not refused). When those slots are full, the silent socket (no StartupMessage yet)
   * that has waited longest makes room; only when every stuck handshake is past its StartupMessage is a newcomer refused.
   * Silent sockets thus never lock real clients out, and a flood churns only itself.
   */
  const makeRoom = (): boolean => {
    const now = Date.now();
    let stuck = 0;
    let oldestSilent: Preauth | null = null;
    for (const s of preauth) {
      if (now - s.openedAt < STUCK_MS) continue;
      stuck++;
      if (oldestSilent === null && s.isSilent) oldestSilent = s;
    }
    if (stuck < deps.options.maxPreauthConnections) return true;
    if (oldestSilent === null) return false;
    oldestSilent.fatal(ProtocolError.evictedSilent(), CloseReason.tooManyPreauth);
    deps.metrics?.clientConnectionsRejected.inc({ reason: CloseReason.tooManyPreauth });
    return true;
  };
  const cancelKeys = new CancelKeys(deps.cancelRoute?.nodeId ?? 0);
  const route = deps.cancelRoute;
  let counter = 0;

  const onClose = (id: string, reason: CloseReason) => {
    deps.metrics?.clientConnectionsActive.dec();
    for (const check of [...onClosed]) check();
    deps.metrics?.clientDisconnects.inc({ reason });
    if (reason === CloseReason.tooManyConnections || reason === CloseReason.tlsRequired) deps.metrics?.clientConnectionsRejected.inc({ reason });
    deps.logger.debug({ conn: id, reason }, 'connection closed');
  };

  const startSession = (phase: StartupPhase, outcome: Extract<Awaited<StartupPhase['done']>, { kind: 'session' }>) => {
    const session = new Session(
      outcome.socket,
      {
        options: deps.options,
        gate: deps.gate,
        cancelKeys,
        logger: deps.logger,
        ...(deps.metrics ? { metrics: deps.metrics } : {}),
        ...(deps.functionCallFacts ? { functionCallFacts: deps.functionCallFacts } : {}),
        ...(identity ? { identities: identity.facts } : {}),
        identityConnections,
        onAuthenticated: (s) => {
          if (preauth.delete(s)) preauthSessions--;
        },
        onClose: (s, reason) => {
          if (preauth.delete(s)) preauthSessions--;
          sessions.delete(s);
          onClose(s.id, reason);
        },
      },
      phase.id,
      phase.openedAt,
    );
    sessions.add(session);
    preauth.add(session);
    preauthSessions++;
    session.start(outcome.packet, outcome.rest, outcome.login);
  };

  const server = net.createServer({ noDelay: true }, (socket) => {
    counter++;
    if (!makeRoom()) {
      // Every pre-authentication slot is busy with a handshake in progress: refuse the newcomer at once.
      socket.end(toErrorResponse(new ConnectionLimitError(deps.options.maxPreauthConnections, true)));
      socket.on('error', () => socket.destroy());
      deps.metrics?.clientConnectionsRejected.inc({ reason: CloseReason.tooManyPreauth });
      return;
    }
    const phase = new StartupPhase(
      socket,
      {
        options: {
          serverTls: identity?.serverTls ?? null,
          tlsRequired: identity?.tlsRequired ?? false,
          maxStartupMessageSize: deps.options.maxStartupMessageSize,
          maxPreAuthBytes: identity?.maxPreAuthBytes ?? 65_536,
          timeoutMs: identity?.authTimeoutMs ?? deps.options.startupTimeoutMs,
          routeOf: identity ? (db) => identity.routeOf(db) : () => 'passthrough',
          authenticator: identity?.authenticator ?? null,
        },
        logger: deps.logger,
        metrics: deps.metrics,
        // A key this instance did not mint goes to the instance that did (routed through Redis).
        cancel: (pid, secret) => {
          const target = cancelKeys.lookup(pid, secret);
          if (target) target.cancel();
          else route?.forward(pid, secret);
        },
        // Connections past the limit still get a proper FATAL 53300 after their StartupMessage, as PostgreSQL does.
        overLimit: (): PgwardenError | null => (sessions.size - preauthSessions >= deps.options.maxClientConnections ? new ConnectionLimitError(deps.options.maxClientConnections) : null),
      },
      `c${process.pid.toString(36)}-${counter.toString(36)}`,
    );
    phases.add(phase);
    preauth.add(phase);
    deps.metrics?.clientConnectionsActive.inc();
    deps.metrics?.clientConnectionsTotal.inc();
    void phase.start().done.then((outcome) => {
      phases.delete(phase);
      preauth.delete(phase);
      if (outcome.kind === 'closed') return onClose(phase.id, outcome.reason);
      startSession(phase, outcome);
    });
  });
  server.on('error', (err) => deps.logger.error({ err }, 'proxy listener error'));

  const total = () => sessions.size + phases.size;
  return {
    server,
    get sessionCount() {
      return total();
    },
    cancel(pid, secret) {
      const target = cancelKeys.lookup(pid, secret);
      target?.cancel();
      return target !== undefined;
    },
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port, backlog: 1024 }, () => {
          server.off('error', reject);
          const addr = server.address() as net.AddressInfo;
          resolve({ host: addr.address, port: addr.port });
        });
      });
    },
    async drain(graceMs) {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const p of [...phases]) p.fatal(new ShuttingDown(), CloseReason.shutdown);
      for (const s of [...sessions]) s.drain();
      await until(() => total() === 0, graceMs, onClosed);
      if (sessions.size > 0) {
        deps.logger.warn({ sessions: sessions.size, grace_ms: graceMs }, 'shutdown grace period over: cancelling statements still running upstream');
        for (const s of sessions) s.cancelRunning();
        await until(() => total() === 0, CANCEL_WAIT_MS, onClosed);
      }
      for (const s of [...sessions]) s.fatal(new ShuttingDown(true), CloseReason.shutdown);
      await stopped;
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const p of [...phases]) p.fatal(new ShuttingDown(true), CloseReason.shutdown);
        for (const s of sessions) s.close(CloseReason.shutdown);
      });
    },
  };
}
