// Startup negotiation, limits and bad input: each gets a clear error and closes only the offending connection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startProxy, type TestProxy } from '../../helpers/proxy.js';
import { RawClient, errorFields, msg, query, sslRequest, startupMessage } from '../../helpers/raw-client.js';
import { pgUrl, urlFor } from '../../helpers/env.js';
import { psql } from '../../helpers/cli.js';

let proxy: TestProxy;
beforeAll(async () => {
  proxy = await startProxy({ maxMessageSize: 1024 * 1024 });
});
afterAll(async () => {
  await proxy.close();
});

async function fatalOf(c: RawClient): Promise<Record<string, string>> {
  for (;;) {
    const m = await c.read();
    if (m.code === 'E') {
      await c.closedByPeer();
      return errorFields(m.body);
    }
  }
}

describe('startup', () => {
  it("answers SSLRequest with 'N' when TLS is not configured, then accepts a plain startup", async () => {
    const c = await RawClient.connect(proxy.port);
    c.send(sslRequest());
    expect(await c.readByte()).toBe('N');
    c.send(startupMessage({ user: 'postgres', database: 'postgres' }));
    const msgs = await c.readUntilReady();
    expect(msgs[0]!.code).toBe('R');
    c.end();
  });

  it('psql with sslmode=prefer falls back to plain text through the proxy', async () => {
    const out = await psql(`${urlFor(proxy.port)}?sslmode=prefer`, 'SELECT 1;');
    expect(out.stdout.trim()).toBe('1');
  });

  it('bytes sent after SSLRequest before the answer are a protocol violation', async () => {
    const c = await RawClient.connect(proxy.port);
    c.send(Buffer.concat([sslRequest(), startupMessage({ user: 'postgres' })]));
    const f = await fatalOf(c);
    expect(f.C).toBe('08P01');
    expect(f.S).toBe('FATAL');
  });

  it('answers a newer protocol minor version and _pq_ options with NegotiateProtocolVersion, then continues', async () => {
    const c = await RawClient.connect(proxy.port);
    c.send(startupMessage({ user: 'postgres', database: 'postgres', '_pq_.future_option': 'on' }, (3 << 16) | 2));
    const v = await c.read();
    expect(v.code).toBe('v');
    expect(v.body.readInt32BE(0)).toBe(0);
    expect(v.body.readInt32BE(4)).toBe(1);
    expect(v.body.toString('utf8', 8).replace(/\0$/, '')).toBe('_pq_.future_option');
    const rest = await c.readUntilReady();
    expect(rest[0]!.code).toBe('R');
    c.end();
  });

  it('refuses replication connections with a clear FATAL error', async () => {
    const c = await RawClient.connect(proxy.port);
    c.send(startupMessage({ user: 'postgres', replication: 'database' }));
    const f = await fatalOf(c);
    expect(f.C).toBe('08P01');
    expect(f.M).toMatch(/^pgwarden: replication connections are not supported/);
  });

  it('closes a client that never finishes the handshake after the startup timeout', async () => {
    const quick = await startProxy({ startupTimeoutMs: 300 });
    const c = await RawClient.connect(quick.port);
    const f = await fatalOf(c);
    expect(f.C).toBe('08P01');
    expect(f.M).toContain('startup');
    await quick.close();
  });
});

describe('bad input', () => {
  it('a message longer than the limit is refused before it is buffered, other clients unaffected', async () => {
    const other = await RawClient.ready(proxy.port);
    const c = await RawClient.ready(proxy.port);
    const header = Buffer.alloc(5);
    header.write('Q', 0);
    header.writeInt32BE(512 * 1024 * 1024, 1);
    c.send(header);
    const f = await fatalOf(c);
    expect(f.C).toBe('08P01');
    expect(f.M).toContain('exceeds the limit');
    other.send(query('SELECT 1'));
    expect((await other.readUntilReady()).map((m) => m.code)).toEqual(['T', 'D', 'C', 'Z']);
    other.end();
  });

  it('a negative length or an unknown message type is a protocol violation', async () => {
    for (const bad of [Buffer.from([0x51, 0xff, 0xff, 0xff, 0xff]), msg('~', 'x')]) {
      const c = await RawClient.ready(proxy.port);
      c.send(bad);
      const f = await fatalOf(c);
      expect(f.C).toBe('08P01');
      expect(f.M).toMatch(/^pgwarden: /);
    }
  });

  it('an unreachable upstream gets a FATAL error naming host:port and the cause', async () => {
    const dead = await startProxy({ upstream: { host: '127.0.0.1', port: 1, display: '127.0.0.1:1' } });
    const c = new pg.Client(urlFor(dead.port));
    const err = (await c.connect().catch((e: unknown) => e)) as pg.DatabaseError;
    expect(err.code).toBe('08006');
    expect(err.message).toContain('127.0.0.1:1');
    expect(err.message).toContain('ECONNREFUSED');
    await dead.close();
  });
});

describe('connection limits and cleanup', () => {
  it('refuses connections past the limit with 53300 too_many_connections', async () => {
    const small = await startProxy({ maxClientConnections: 2 });
    const a = await RawClient.ready(small.port);
    const b = await RawClient.ready(small.port);
    const c = new pg.Client(urlFor(small.port));
    const err = (await c.connect().catch((e: unknown) => e)) as pg.DatabaseError;
    expect(err.code).toBe('53300');
    a.end();
    b.end();
    await small.close();
  });

  it('serves 500 concurrent connections and leaves no upstream session behind', async () => {
    const app = `pgw-500-${process.pid}`;
    const clients = Array.from({ length: 500 }, () => new pg.Client(urlFor(proxy.port, { application: app })));
    await Promise.all(clients.map((c) => c.connect()));
    const sums = await Promise.all(clients.map((c, i) => c.query('SELECT $1::int + 1 AS n', [i])));
    sums.forEach((r, i) => expect(r.rows[0].n).toBe(i + 1));
    const admin = new pg.Client(pgUrl());
    await admin.connect();
    expect((await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [app])).rows[0].n).toBe(500);
    await Promise.all(clients.map((c) => c.end()));
    let left = -1;
    for (let i = 0; i < 50 && left !== 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = (await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [app])).rows[0].n;
    }
    expect(left).toBe(0);
    expect(proxy.proxy.sessionCount).toBe(0);
    await admin.end();
  });

  it('a client that vanishes without Terminate does not leak its upstream session', async () => {
    const app = `pgw-vanish-${process.pid}`;
    const c = await RawClient.ready(proxy.port, { user: 'postgres', database: 'postgres', application_name: app });
    c.socket.destroy();
    const admin = new pg.Client(pgUrl());
    await admin.connect();
    let left = -1;
    for (let i = 0; i < 50 && left !== 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      left = (await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [app])).rows[0].n;
    }
    expect(left).toBe(0);
    await admin.end();
  });
});
