// The accept loop: one Session per client socket, the client connection limit, graceful shutdown.
import net from 'node:net';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { TextFacts } from '../sql/types.js';
import { CancelKeys, type CancelRoute } from './cancel-keys.js';
import type { Gate } from './gate.js';
import { Session, type SessionOptions } from './session.js';
import { CloseReason } from './session-state.js';

export interface ProxyOptions extends SessionOptions {
  readonly maxClientConnections: number;
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
  const server = net.createServer({ noDelay: true }, (socket) => {
    counter++;
    // Connections past the limit still get a proper FATAL 53300 after their StartupMessage, as PostgreSQL does.
    const overLimit = sessions.size >= deps.options.maxClientConnections;
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
        overLimit,
        maxClients: deps.options.maxClientConnections,
        onClose: (s, reason) => {
          if (sessions.delete(s)) deps.metrics?.clientConnectionsActive.dec();
          deps.metrics?.clientDisconnects.inc({ reason });
          if (reason === CloseReason.tooManyConnections) deps.metrics?.clientConnectionsRejected.inc({ reason });
          deps.logger.debug({ conn: s.id, reason }, 'connection closed');
        },
      },
      `c${process.pid.toString(36)}-${counter.toString(36)}`,
    );
    sessions.add(session);
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
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sessions) s.close(CloseReason.shutdown);
      });
    },
  };
}
