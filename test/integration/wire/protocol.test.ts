// Extended protocol, COPY, cancel, LISTEN/NOTIFY, large values, FunctionCall and pgbench through the proxy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import postgres from 'postgres';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxy, type TestProxy } from '../../helpers/proxy.js';
import { psql, run } from '../../helpers/cli.js';
import { pgUrl, urlFor } from '../../helpers/env.js';
import type { StatementContext } from '../../../src/proxy/gate.js';
import { ALLOW } from '../../../src/proxy/gate.js';
import { RawClient } from '../../helpers/raw-client.js';

let proxy: TestProxy;
let admin: pg.Client;
const seen: StatementContext[] = [];
beforeAll(async () => {
  proxy = await startProxy({ gate: { decide: (ctx) => (seen.push(ctx), ALLOW) } });
  admin = new pg.Client(pgUrl());
  await admin.connect();
  await admin.query('DROP TABLE IF EXISTS wire_proto; CREATE TABLE wire_proto (id int, note text)');
});
afterAll(async () => {
  await admin.end();
  await proxy.close();
});

describe('extended protocol', () => {
  it('node-postgres: parameters, named prepared statements reused, and errors', async () => {
    const c = new pg.Client(urlFor(proxy.port));
    await c.connect();
    expect((await c.query('SELECT $1::int + $2::int AS s', [2, 3])).rows[0].s).toBe(5);
    for (let i = 0; i < 3; i++) {
      const r = await c.query({ name: 'named-add', text: 'SELECT $1::int * 2 AS d', values: [i] });
      expect(r.rows[0].d).toBe(i * 2);
    }
    const err = (await c.query('SELECT $1::int / 0', [1]).catch((e: unknown) => e)) as pg.DatabaseError;
    expect(err.code).toBe('22012');
    expect((await c.query({ name: 'named-add', text: 'SELECT $1::int * 2 AS d', values: [21] })).rows[0].d).toBe(42);
    await c.end();
  });

  it('postgres.js: many pipelined queries come back in order, including one that fails', async () => {
    const sql = postgres(urlFor(proxy.port), { max: 1 });
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => (i === 25 ? sql`SELECT 1/0` : sql`SELECT ${i}::int AS i`)));
    results.forEach((r, i) => {
      if (i === 25) expect(r.status).toBe('rejected');
      else expect(r.status === 'fulfilled' && r.value[0]!.i).toBe(i);
    });
    const tx = await sql.begin(async (t) => {
      await t`INSERT INTO wire_proto VALUES (1, 'tx')`;
      return t`SELECT count(*)::int AS n FROM wire_proto WHERE note = 'tx'`;
    });
    expect(tx[0]!.n).toBe(1);
    await sql.end();
  });

  it('Flush without Sync gets answers at once (pg-cursor style), so drivers that depend on it do not hang', async () => {
    const sql = postgres(urlFor(proxy.port), { max: 1 });
    const rows: number[] = [];
    await sql`SELECT g FROM generate_series(1, 25) g`.cursor(10, (batch) => {
      rows.push(...batch.map((r) => r.g as number));
    });
    expect(rows).toHaveLength(25);
    await sql.end();
  });
});

describe('COPY', () => {
  it('psql \\copy from a file and to a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgw-copy-'));
    const input = join(dir, 'in.csv');
    const output = join(dir, 'out.csv');
    writeFileSync(input, Array.from({ length: 1000 }, (_, i) => `${i},row ${i}`).join('\n') + '\n');
    await admin.query('TRUNCATE wire_proto');
    const a = await psql(urlFor(proxy.port), `\\copy wire_proto FROM '${input}' WITH (FORMAT csv)\n`);
    expect(a.stderr).toBe('');
    expect((await admin.query('SELECT count(*)::int AS n FROM wire_proto')).rows[0].n).toBe(1000);
    const b = await psql(urlFor(proxy.port), `\\copy (SELECT * FROM wire_proto ORDER BY id) TO '${output}' WITH (FORMAT csv)\n`);
    expect(b.stderr).toBe('');
    expect(readFileSync(output, 'utf8')).toBe(readFileSync(input, 'utf8'));
  });

  it('a failed COPY FROM STDIN is reported and the session continues', async () => {
    const out = await psql(urlFor(proxy.port), `COPY wire_proto FROM STDIN WITH (FORMAT csv);\nnot-a-number,x\n\\.\nSELECT 'still here';\n`);
    expect(out.stderr).toContain('invalid input syntax for type integer');
    expect(out.stdout).toContain('still here');
  });
});

describe('cancel, notifications, large values, fast-path calls', () => {
  it('cancels a running pg_sleep through the proxy (client gets 57014)', async () => {
    const c = new pg.Client(urlFor(proxy.port));
    await c.connect();
    const started = Date.now();
    const pending = c.query('SELECT pg_sleep(30)').catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 300));
    const canceller = new pg.Client(urlFor(proxy.port));
    await (canceller as unknown as { cancel(c: pg.Client, q: unknown): Promise<void> }).cancel(c, (c as unknown as { activeQuery: unknown }).activeQuery);
    const err = (await pending) as pg.DatabaseError;
    expect(err.code).toBe('57014');
    expect(Date.now() - started).toBeLessThan(20_000);
    await c.end();
  });

  it('a CancelRequest with a key pgwarden never issued does nothing', async () => {
    const c = new pg.Client(urlFor(proxy.port));
    await c.connect();
    const pending = c.query('SELECT pg_sleep(0.5) AS slept');
    const conn = c as unknown as { processID: number; secretKey: number };
    const packet = Buffer.alloc(16);
    packet.writeInt32BE(16, 0);
    packet.writeInt32BE(80877102, 4);
    packet.writeInt32BE(conn.processID ^ 1, 8);
    packet.writeInt32BE(conn.secretKey, 12);
    const raw = await RawClient.connect(proxy.port);
    raw.send(packet);
    await raw.closedByPeer();
    const r = await pending;
    expect(r.rows).toHaveLength(1);
    await c.end();
  });

  it('LISTEN/NOTIFY: notifications are relayed', async () => {
    const listener = new pg.Client(urlFor(proxy.port));
    await listener.connect();
    await listener.query('LISTEN pgw_channel');
    const got = new Promise<pg.Notification>((resolve) => listener.on('notification', resolve));
    await admin.query("NOTIFY pgw_channel, 'hello through pgwarden'");
    const n = await got;
    expect(n.channel).toBe('pgw_channel');
    expect(n.payload).toBe('hello through pgwarden');
    await listener.end();
  });

  it('round-trips a 16 MB value both ways', async () => {
    const c = new pg.Client(urlFor(proxy.port));
    await c.connect();
    const big = 'x'.repeat(16 * 1024 * 1024);
    const r = await c.query('SELECT length($1::text) AS n, md5($1::text) AS h, $1::text AS v', [big]);
    expect(r.rows[0].n).toBe(big.length);
    expect(r.rows[0].v.length).toBe(big.length);
    expect(r.rows[0].v === big).toBe(true);
    await c.end();
  });

  it('FunctionCall (libpq large objects via psql \\lo_import) goes through the gate as its own statement', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgw-lo-'));
    const file = join(dir, 'blob.txt');
    writeFileSync(file, 'large object body');
    seen.length = 0;
    const out = await psql(urlFor(proxy.port), `BEGIN;\n\\lo_import '${file}'\nROLLBACK;\n`, ['-v', 'ON_ERROR_STOP=1']);
    expect(out.code).toBe(0);
    const calls = seen.filter((s) => s.source === 'function_call');
    expect(calls.length).toBeGreaterThan(0);
    expect(calls[0]!.text).toMatch(/^fastpath function call/);
  });

  it('pgbench runs in simple, extended and prepared modes', async () => {
    const url = urlFor(proxy.port);
    const init = await run('pgbench', ['-i', '-q', '-s', '1', url]);
    expect(init.code).toBe(0);
    for (const mode of ['simple', 'extended', 'prepared']) {
      const r = await run('pgbench', ['-S', '-M', mode, '-c', '4', '-t', '200', url]);
      expect(r.stderr + r.stdout).toContain('number of failed transactions: 0');
      expect(r.code).toBe(0);
    }
  });
});
