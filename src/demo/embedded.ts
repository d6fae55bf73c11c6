// The demo's embedded PostgreSQL: PGlite (PostgreSQL compiled to WebAssembly, in memory) behind pglite-socket's TCP
// server on a private loopback port, so pgwarden can proxy to it exactly as to a real server.
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { seedSql } from './seed.js';

export interface EmbeddedPostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres — the upstream pgwarden proxies to. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * PGlite is one single-user backend. pglite-socket multiplexes many TCP connections onto it, one protocol message
 * at a time (and only the connection that opened a transaction block runs until it ends), so psql, the console's
 * readiness probe and the example agent can be connected at once. Session state (SET, prepared statement names,
 * temp tables) is shared between connections: docs/demo.md lists the limits.
 */
const MAX_CONNECTIONS = 64;

export async function startEmbeddedPostgres(): Promise<EmbeddedPostgres> {
  const db = await PGlite.create();
  try {
    await db.exec(seedSql());
  } catch (err) {
    await db.close();
    throw err;
  }
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: MAX_CONNECTIONS });
  try {
    await server.start();
  } catch (err) {
    await db.close();
    throw err;
  }
  const port = Number(server.getServerConn().split(':').pop());
  let closed = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async close() {
      if (closed) return;
      closed = true;
      await server.stop();
      await db.close();
    },
  };
}
