// The extended protocol's corners through the reply-correlation queue and the confirmed namespace: Flush without
// Sync, Describe before Bind, portal suspension, Close of names in flight, errors and COPY mid-pipeline, empty queries,
// a Query inside an unsynced batch, cancel mid-pipeline — each against the real server, the pipeline staying in step.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import postgres from 'postgres';
import { startProxy, type TestProxy } from '../../helpers/proxy.js';
import { bind, errorFields, execute, msg, parse, query, RawClient, sync, type BackendMessage } from '../../helpers/raw-client.js';
import { pgUrl, urlFor } from '../../helpers/env.js';
import { ALLOW, type Gate, type StatementContext } from '../../../src/proxy/gate.js';

let proxy: TestProxy;
let admin: pg.Client;
const seen: StatementContext[] = [];
const recording: Gate = { decide: (ctx) => (seen.push(ctx), ALLOW) };
beforeAll(async () => {
  proxy = await startProxy({ gate: recording });
  admin = new pg.Client(pgUrl());
  await admin.connect();
  await admin.query('DROP TABLE IF EXISTS wire_pipe; CREATE TABLE wire_pipe (id int, note text)');
});
afterAll(async () => {
  await admin.query('DROP TABLE IF EXISTS wire_pipe');
  await admin.end();
  await proxy.close();
});

const flush = () => msg('H');
const describeS = (name: string) => msg('D', `S${name}\0`);
const closeS = (name: string) => msg('C', `S${name}\0`);
const closeP = (name: string) => msg('C', `P${name}\0`);
const executeRows = (portal: string, rows: number) => {
  const b = Buffer.alloc(portal.length + 5);
  b.write(`${portal}\0`);
  b.writeInt32BE(rows, portal.length + 1);
  return msg('E', b);
};
const copyData = (s: string) => msg('d', s);
const copyDone = () => msg('c');
const codes = (m: readonly BackendMessage[]) => m.map((x) => x.code).join('');

async function readN(c: RawClient, n: number): Promise<BackendMessage[]> {
  const out: BackendMessage[] = [];
  while (out.length < n) out.push(await c.read());
  return out;
}

async function readReadies(c: RawClient, n: number): Promise<BackendMessage[]> {
  const out: BackendMessage[] = [];
  for (let z = 0; z < n; ) {
    const m = await c.read();
    out.push(m);
    if (m.code === 'Z') z++;
  }
  return out;
}

describe('extended protocol corners', () => {
  it('Flush without Sync, Describe before Bind, and portal suspension with max_rows', async () => {
    const c = await RawClient.ready(proxy.port);
    c.send(parse('s', 'SELECT g FROM generate_series(1, 5) g'), describeS('s'), flush());
    expect(codes(await readN(c, 3))).toBe('1tT');
    c.send(bind('p', 's'), executeRows('p', 2), flush());
    expect(codes(await readN(c, 4))).toBe('2DDs');
    c.send(executeRows('p', 2), flush());
    expect(codes(await readN(c, 3))).toBe('DDs');
    c.send(executeRows('p', 2), closeP('p'), sync());
    expect(codes(await readReadies(c, 1))).toBe('DC3Z');
    c.end();
  });

  it('a suspended portal inside a transaction is resumed in a later unit (JDBC fetch size) without a new decision', async () => {
    const c = await RawClient.ready(proxy.port);
    c.send(query('BEGIN'));
    await c.readUntilReady();
    seen.length = 0;
    c.send(parse('f', 'SELECT g FROM generate_series(1, 4) g'), bind('cur', 'f'), executeRows('cur', 2), sync());
    expect(codes(await readReadies(c, 1))).toBe('12DDsZ');
    c.send(executeRows('cur', 2), sync(), executeRows('cur', 2), sync());
    const more = await readReadies(c, 2);
    expect(codes(more)).toBe('DDsZCZ');
    expect(seen.map((s) => s.source)).toEqual(['parse']);
    c.send(query('COMMIT'));
    await c.readUntilReady();
    // Outside the transaction the portal is gone on the server, and for pgwarden.
    c.send(executeRows('cur', 2), sync());
    const gone = await readReadies(c, 1);
    expect(errorFields(gone[0]!.body).C).toBe('34000');
    c.end();
  });

  it('Close of a name in flight: in the same unit and across units, Bind of the closed name is refused as the server would', async () => {
    const c = await RawClient.ready(proxy.port);
    c.send(parse('gone', 'SELECT 1'), closeS('gone'), bind('', 'gone'), execute(''), sync());
    const same = await readReadies(c, 1);
    expect(codes(same)).toBe('13EZ');
    expect(errorFields(same[2]!.body).C).toBe('26000');
    c.send(parse('gone2', 'SELECT 1'), sync(), closeS('gone2'), sync(), bind('', 'gone2'), execute(''), sync());
    const across = await readReadies(c, 3);
    expect(codes(across)).toBe('1Z3ZEZ');
    expect(errorFields(across[4]!.body).C).toBe('26000');
    c.end();
  });

  it('an error mid-pipeline skips to Sync on the server and in pgwarden; the next unit runs', async () => {
    const c = await RawClient.ready(proxy.port);
    c.send(parse('', 'SELECT 1/0'), bind('', ''), execute(''), parse('after', 'SELECT 2'), bind('', 'after'), execute(''), sync(), bind('', 'after'), execute(''), sync());
    const msgs = await readReadies(c, 2);
    // The Parse of "after" was skipped by the server, so the later Bind of it fails there too (26000 from pgwarden).
    // 1/0 is folded when the Bind plans the statement, so the error answers the Bind.
    expect(codes(msgs)).toBe('1EZEZ');
    expect(errorFields(msgs[1]!.body).C).toBe('22012');
    expect(errorFields(msgs[3]!.body).C).toBe('26000');
    c.send(parse('', 'SELECT 3'), bind('', ''), execute(''), sync());
    expect(codes(await readReadies(c, 1))).toBe('12DCZ');
    c.end();
  });

  it('COPY FROM STDIN in the extended protocol, with a Sync sent before the data (ignored by the server)', async () => {
    const c = await RawClient.ready(proxy.port);
    c.send(parse('', 'COPY wire_pipe FROM STDIN'), bind('', ''), execute(''), sync());
    expect(codes(await readN(c, 3))).toBe('12G');
    c.send(copyData('1\tone\n'), copyData('2\ttwo\n'), copyDone(), sync());
    expect(codes(await readReadies(c, 1))).toBe('CZ');
    c.send(parse('', 'COPY (SELECT id FROM wire_pipe ORDER BY id) TO STDOUT'), bind('', ''), execute(''), sync());
    expect(codes(await readReadies(c, 1))).toBe('12HddcCZ');
    c.send(query('SELECT count(*) FROM wire_pipe'));
    expect(codes(await c.readUntilReady())).toBe('TDCZ');
    c.end();
  });

  it('empty queries in both protocols', async () => {
    const c = await RawClient.ready(proxy.port);
    c.send(query(''), parse('', ''), bind('', ''), execute(''), sync());
    expect(codes(await readReadies(c, 2))).toBe('IZ12IZ');
    c.end();
  });

  it('a Query inside an unsynced batch commits it and drops the unnamed statement, as the server does', async () => {
    const c = await RawClient.ready(proxy.port);
    c.send(parse('', 'SELECT 1'), bind('', ''), execute(''), query('SELECT 2'), bind('', ''), execute(''), sync());
    const msgs = await readReadies(c, 2);
    expect(codes(msgs)).toBe('12DCTDCZEZ');
    expect(errorFields(msgs[8]!.body).C).toBe('26000');
    c.end();
  });

  it('cancel mid-pipeline: the running statement ends with 57014, the rest of its unit is skipped, the next runs', async () => {
    const client = new pg.Client(urlFor(proxy.port));
    await client.connect();
    const slow = client.query('SELECT pg_sleep(5)').catch((e: pg.DatabaseError) => e);
    const after = client.query('SELECT 7 AS n');
    await new Promise((r) => setTimeout(r, 300));
    const canceller = new pg.Client(urlFor(proxy.port));
    await (canceller as unknown as { cancel(c: pg.Client, q: unknown): Promise<void> }).cancel(client, (client as unknown as { activeQuery: unknown }).activeQuery);
    expect(((await slow) as pg.DatabaseError).code).toBe('57014');
    expect((await after).rows[0].n).toBe(7);
    await client.end();
  });
});

describe('real clients keep working', () => {
  it('postgres.js: many pipelined queries with non-ASCII and backslash texts wait for each other and all succeed', async () => {
    const sql = postgres(urlFor(proxy.port), { max: 1 });
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => sql.unsafe(`SELECT 'é${i}\\' AS v`)));
    results.forEach((r, i) => expect(r[0]!.v).toBe(`é${i}\\`));
    await sql.end();
  });

  it('node-postgres: a named statement reused after a simple Query and a DEALLOCATE of another name', async () => {
    const client = new pg.Client(urlFor(proxy.port));
    await client.connect();
    const q = { name: 'wire-named', text: 'SELECT $1::int * 2 AS n', values: [4] };
    expect((await client.query(q)).rows[0].n).toBe(8);
    await client.query('PREPARE other AS SELECT 1; DEALLOCATE other');
    expect((await client.query({ ...q, values: [5] })).rows[0].n).toBe(10);
    await client.end();
  });
});
