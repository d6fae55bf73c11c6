// The accept loop: the startup phase (TLS, authentication) then one Session per client socket, the client connection
// limit, graceful shutdown.
import net from 'node:net';
import type { Logger } from 'pino';
import { ConnectionLimitError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { AuthMethod } from '../policy/verdict.js';
import type { TextFacts } from '../sql/types.js';
import { CancelKeys, type CancelRoute } from './cancel-keys.js';
import type { Gate } from './gate.js';
import { Session, type SessionOptions } from './session.js';
import { CloseReason } from './session-state.js';
import { runStartupPhase } from './startup-phase.js';
import type { Authenticator } from './auth/authenticate.js';
import { IdentityConnections } from './auth/throttle.js';
import type { IdentityFacts } from './session-upstream.js';
import type { ServerTls } from './tls/server-tls.js';

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

export interface ProxyOptions extends SessionOptions {
  readonly maxClientConnections: number;
}

export interface ProxyDeps {
  readonly options: ProxyOptions;
  gate(): Gate;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  functionCallFacts?(oid: number): TextFacts;
  readonly identity?: ProxyIdentity;
  /** Cancel keys routable between instances sharing a store; without it keys are local (a single instance). */
  readonly cancelRoute?: CancelRoute;
}

export interface Proxy {
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  /** Stops accepting; closes every client connection (in-flight statements end with the connection). */
  close(): Promise<void>;
  readonly sessionCount: number;
  readonly server: net.Server;
  /** A CancelRequest forwarded by another instance: acts on it if the key is ours. True when it was. */
  cancel(pid: number, secret: number): boolean;
}

export function createProxy(deps: ProxyDeps): Proxy {
  const sessions = new Set<Session>();
  const cancelKeys = new CancelKeys(deps.cancelRoute?.nodeId ?? 0);
  const route = deps.cancelRoute;
  let counter = 0;
  const starting = new Set<net.Socket>();
  const identityConnections = new IdentityConnections();
  const identity = deps.identity;
  const routeOf = identity ? (db: string) => identity.routeOf(db) : () => 'passthrough' as const;
  const server = net.createServer({ noDelay: true }, (socket) => {
    counter++;
    const id = `c${process.pid.toString(36)}-${counter.toString(36)}`;
    // Connections past the limit still get a proper FATAL 53300 after their StartupMessage, as PostgreSQL does.
    const overLimit = sessions.size + starting.size >= deps.options.maxClientConnections;
    starting.add(socket);
    deps.metrics?.clientConnectionsActive.inc();
    deps.metrics?.clientConnectionsTotal.inc();
    void runStartupPhase(
      socket,
      {
        options: {
          serverTls: identity?.serverTls ?? null,
          tlsRequired: identity?.tlsRequired ?? false,
          maxStartupMessageSize: deps.options.maxStartupMessageSize,
          maxPreAuthBytes: identity?.maxPreAuthBytes ?? 65_536,
          timeoutMs: identity?.authTimeoutMs ?? deps.options.startupTimeoutMs,
          routeOf,
          authenticator: identity?.authenticator ?? null,
        },
        logger: deps.logger,
        metrics: deps.metrics,
        // A key this instance did not mint goes to the instance that did (routed through Redis), as approvals wired it.
        cancel: (pid, secret) => {
          const target = cancelKeys.lookup(pid, secret);
          if (target) target.cancel();
          else route?.forward(pid, secret);
        },
        overLimit: overLimit ? new ConnectionLimitError(deps.options.maxClientConnections) : null,
      },
      id,
    ).then((outcome) => {
      starting.delete(socket);
      if (outcome.kind === 'closed') return onClose(id, outcome.reason);
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
          overLimit: false,
          maxClients: deps.options.maxClientConnections,
          onClose: (s, reason) => {
            sessions.delete(s);
            onClose(s.id, reason);
          },
        },
        id,
      );
      sessions.add(session);
      session.start(outcome.packet, outcome.rest, outcome.login);
    });
  });
  const onClose = (id: string, reason: CloseReason) => {
    deps.metrics?.clientConnectionsActive.dec();
    deps.metrics?.clientDisconnects.inc({ reason });
    if (reason === CloseReason.tooManyConnections || reason === CloseReason.tlsRequired) deps.metrics?.clientConnectionsRejected.inc({ reason });
    deps.logger.debug({ conn: id, reason }, 'connection closed');
  };
  server.on('error', (err) => deps.logger.error({ err }, 'proxy listener error'));

  return {
    server,
    get sessionCount() {
      return sessions.size + starting.size;
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
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of starting) socket.destroy();
        for (const s of sessions) s.close(CloseReason.shutdown);
      });
    },
  };
}
