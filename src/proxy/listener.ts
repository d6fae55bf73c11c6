// The accept loop: one Session per client socket, the client connection limit, graceful shutdown.
import net from 'node:net';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { TextFacts } from '../sql/types.js';
import { CancelKeys } from './cancel-keys.js';
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
}

export interface Proxy {
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  /** Stops accepting; closes every client connection (in-flight statements end with the connection). */
  close(): Promise<void>;
  readonly sessionCount: number;
  readonly server: net.Server;
}

export function createProxy(deps: ProxyDeps): Proxy {
  const sessions = new Set<Session>();
  const cancelKeys = new CancelKeys();
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
