// The accept loop: one Session per client socket, the client connection limit, graceful shutdown.
import net from 'node:net';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { TextFacts } from '../sql/types.js';
import { ConnectionLimitError, ProtocolError, ShuttingDown } from '../errors.js';
import { toErrorResponse } from './backend.js';
import { CancelKeys, type CancelRoute } from './cancel-keys.js';
import type { Gate } from './gate.js';
import { Session, type SessionOptions } from './session.js';
import { CloseReason } from './session-state.js';

export interface ProxyOptions extends SessionOptions {
  readonly maxClientConnections: number;
  /** Connections that have not finished authentication (silent sockets, slow handshakes) have their own, smaller limit. */
  readonly maxPreauthConnections: number;
}

export interface ProxyDeps {
  readonly options: ProxyOptions;
  gate(): Gate;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  functionCallFacts?(oid: number): TextFacts;
  /** Cancel keys routable between instances sharing a store; without it keys are local (a single instance). */
  readonly cancelRoute?: CancelRoute;
  /** The agent's human owner for a user name (config `identities`). */
  ownerOf?(user: string): string | undefined;
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

/** A handshake older than this is stuck (a silent or slow client), not part of a burst of new connections. */
const STUCK_MS = 1000;
/** After the grace period's cancels, how long sessions get to answer before they are closed regardless. */
const CANCEL_WAIT_MS = 5000;

/** Resolves once `done()` holds (checked on every session close) or after `ms`. */
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
  /** Sessions that have not finished authentication yet. */
  const preauth = new Set<Session>();
  const onSessionClosed = new Set<() => void>();
  /**
   * Handshakes that take longer than STUCK_MS count against limits.max_preauth_connections (fresh ones never do, so a
   * burst of pool connections is not refused). When those slots are full, the silent socket (no StartupMessage yet)
   * that has waited longest makes room; only when every stuck handshake is past its StartupMessage is a newcomer refused.
   * Silent sockets thus never lock real clients out, and a flood churns only itself.
   */
  const makeRoom = (): boolean => {
    const now = Date.now();
    let stuck = 0;
    let oldestSilent: Session | null = null;
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
  const server = net.createServer({ noDelay: true }, (socket) => {
    counter++;
    if (!makeRoom()) {
      // Every pre-authentication slot is busy with a handshake in progress: refuse the newcomer at once.
      socket.end(toErrorResponse(new ConnectionLimitError(deps.options.maxPreauthConnections, true)));
      socket.on('error', () => socket.destroy());
      deps.metrics?.clientConnectionsRejected.inc({ reason: CloseReason.tooManyPreauth });
      return;
    }
    const session = new Session(
      socket,
      {
        options: deps.options,
        gate: deps.gate,
        cancelKeys,
        ...(route ? { forwardCancel: (pid: number, secret: number) => route.forward(pid, secret) } : {}),
        ...(deps.ownerOf ? { ownerOf: deps.ownerOf } : {}),
        logger: deps.logger,
        ...(deps.metrics ? { metrics: deps.metrics } : {}),
        ...(deps.functionCallFacts ? { functionCallFacts: deps.functionCallFacts } : {}),
        // Connections past the limit still get a proper FATAL 53300 after their StartupMessage, as PostgreSQL does.
        isOverLimit: () => sessions.size - preauth.size >= deps.options.maxClientConnections,
        maxClients: deps.options.maxClientConnections,
        onAuthenticated: (s) => preauth.delete(s),
        onClose: (s, reason) => {
          preauth.delete(s);
          if (sessions.delete(s)) deps.metrics?.clientConnectionsActive.dec();
          for (const check of [...onSessionClosed]) check();
          deps.metrics?.clientDisconnects.inc({ reason });
          if (reason === CloseReason.tooManyConnections) deps.metrics?.clientConnectionsRejected.inc({ reason });
          deps.logger.debug({ conn: s.id, reason }, 'connection closed');
        },
      },
      `c${process.pid.toString(36)}-${counter.toString(36)}`,
    );
    sessions.add(session);
    preauth.add(session);
    deps.metrics?.clientConnectionsActive.inc();
    deps.metrics?.clientConnectionsTotal.inc();
  });
  server.on('error', (err) => deps.logger.error({ err }, 'proxy listener error'));

  return {
    server,
    get sessionCount() {
      return sessions.size;
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
      for (const s of [...sessions]) s.drain();
      await until(() => sessions.size === 0, graceMs, onSessionClosed);
      if (sessions.size > 0) {
        deps.logger.warn({ sessions: sessions.size, grace_ms: graceMs }, 'shutdown grace period over: cancelling statements still running upstream');
        for (const s of sessions) s.cancelRunning();
        await until(() => sessions.size === 0, CANCEL_WAIT_MS, onSessionClosed);
      }
      for (const s of [...sessions]) s.fatal(new ShuttingDown(true), CloseReason.shutdown);
      await stopped;
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sessions) s.close(CloseReason.shutdown);
      });
    },
  };
}
