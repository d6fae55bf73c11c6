// The policy seam end to end: deny and hold through the proxy, in simple and extended protocol, in and out of transactions.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import postgres from 'postgres';
import { startProxy, type TestProxy } from '../../helpers/proxy.js';
import { denyGate, holdGate } from '../../helpers/gates.js';
import { RawClient, bind, errorFields, execute, parse, query, sync } from '../../helpers/raw-client.js';
import { pgUrl, urlFor } from '../../helpers/env.js';
import type { StatementContext } from '../../../src/proxy/gate.js';

let proxy: TestProxy;
let admin: pg.Client;
beforeAll(async () => {
  proxy = await startProxy();
  admin = new pg.Client(pgUrl());
  await admin.connect();
  await admin.query('DROP TABLE IF EXISTS wire_gate; CREATE TABLE wire_gate (id int primary key, note text)');
});
beforeEach(async () => {
  await admin.query('TRUNCATE wire_gate');
});
afterAll(async () => {
  await admin.end();
  await proxy.close();
});

const count = async () => Number((await admin.query('SELECT count(*)::int AS n FROM wire_gate')).rows[0].n);

describe('deny', () => {
  it('simple protocol: ErrorResponse 42501 then ReadyForQuery with the true status, and the session goes on', async () => {
    const seen: StatementContext[] = [];
    proxy.setGate(denyGate(/forbidden_marker/, seen));
    const c = await RawClient.ready(proxy.port);
    c.send(query('SELECT 1 AS forbidden_marker'));
    const msgs = await c.readUntilReady();
    expect(msgs.map((m) => m.code)).toEqual(['E', 'Z']);
    const f = errorFields(msgs[0]!.body);
    expect(f.C).toBe('42501');
    expect(f.S).toBe('ERROR');
    expect(f.M).toMatch(/^pgwarden: .*test-rule/);
    expect(f.H).toBeTruthy();
    expect(msgs[1]!.body.toString()).toBe('I');
    c.send(query('SELECT 7'));
    const ok = await c.readUntilReady();
    expect(ok.map((m) => m.code)).toEqual(['T', 'D', 'C', 'Z']);
    expect(seen.some((s) => s.source === 'query' && s.text === 'SELECT 7')).toBe(true);
    c.end();
  });

  it('inside a transaction block: the block fails, later statements get 25P02 and COMMIT rolls back', async () => {
    proxy.setGate(denyGate(/forbidden_marker/));
    const client = new pg.Client(urlFor(proxy.port));
    await client.connect();
    await client.query('BEGIN');
    await client.query("INSERT INTO wire_gate VALUES (1, 'before deny')");
    const denied = await client.query('SELECT 1 AS forbidden_marker').catch((e: pg.DatabaseError) => e);
    expect((denied as pg.DatabaseError).code).toBe('42501');
    expect((denied as pg.DatabaseError).message).toMatch(/^pgwarden:/);
    const next = await client.query("INSERT INTO wire_gate VALUES (2, 'after')").catch((e: pg.DatabaseError) => e);
    expect((next as pg.DatabaseError).code).toBe('25P02');
    const commit = await client.query('COMMIT');
    expect(commit.command).toBe('ROLLBACK');
    expect(await count()).toBe(0);
    await client.end();
  });

  it('extended protocol: error at Parse, messages skipped until Sync, then ReadyForQuery; pipeline stays in step', async () => {
    proxy.setGate(denyGate(/forbidden_marker/));
    const c = await RawClient.ready(proxy.port);
    c.send(
      parse('', 'SELECT 1 AS ok1'), bind('', ''), execute(''), sync(),
      parse('', 'SELECT 2 AS forbidden_marker'), bind('', ''), execute(''), sync(),
      parse('', 'SELECT 3 AS ok3'), bind('', ''), execute(''), sync(),
    );
    const first = await c.readUntilReady();
    expect(first.map((m) => m.code)).toEqual(['1', '2', 'D', 'C', 'Z']);
    const second = await c.readUntilReady();
    expect(second.map((m) => m.code)).toEqual(['E', 'Z']);
    expect(errorFields(second[0]!.body).C).toBe('42501');
    const third = await c.readUntilReady();
    expect(third.map((m) => m.code)).toEqual(['1', '2', 'D', 'C', 'Z']);
    expect(third[2]!.body.toString('utf8', 6)).toBe('3');
    c.end();
  });

  it('extended protocol mid-pipeline: earlier work in the same implicit transaction is rolled back, as the server would', async () => {
    proxy.setGate(denyGate(/forbidden_marker/));
    const c = await RawClient.ready(proxy.port);
    c.send(
      parse('', "INSERT INTO wire_gate VALUES (10, 'same implicit tx')"), bind('', ''), execute(''),
      parse('', 'SELECT 2 AS forbidden_marker'), bind('', ''), execute(''), sync(),
    );
    const msgs = await c.readUntilReady();
    expect(msgs.map((m) => m.code)).toEqual(['1', '2', 'C', 'E', 'Z']);
    expect(errorFields(msgs[3]!.body).C).toBe('42501');
    expect(errorFields(msgs[3]!.body).M).toMatch(/^pgwarden:/);
    expect(msgs[4]!.body.toString()).toBe('I');
    expect(await count()).toBe(0);
    c.end();
  });

  it('node-postgres prepared statement: a later Execute of an earlier-prepared statement is decided again', async () => {
    const seen: StatementContext[] = [];
    let block = false;
    proxy.setGate({ decide: (ctx) => (seen.push(ctx), block && /wire_gate/.test(ctx.text) ? denyGate(/./).decide(ctx) : { kind: 'allow' }) });
    const client = new pg.Client(urlFor(proxy.port));
    await client.connect();
    const q = { name: 'count-gate', text: 'SELECT count(*) FROM wire_gate WHERE id > $1', values: [0] };
    await client.query(q);
    block = true;
    const err = await client.query(q).catch((e: pg.DatabaseError) => e);
    expect((err as pg.DatabaseError).code).toBe('42501');
    expect(seen.filter((s) => s.text.includes('wire_gate')).map((s) => s.source)).toEqual(['parse', 'execute']);
    block = false;
    expect((await client.query(q)).rows[0].count).toBe('0');
    await client.end();
  });

  it('postgres.js: a denied query inside sql.begin rejects and the transaction rolls back', async () => {
    proxy.setGate(denyGate(/forbidden_marker/));
    const sql = postgres(urlFor(proxy.port), { max: 1, onnotice: () => {} });
    const err = await sql
      .begin(async (tx) => {
        await tx`INSERT INTO wire_gate VALUES (20, 'in tx')`;
        await tx`SELECT 1 AS forbidden_marker`;
      })
      .catch((e: { code: string }) => e);
    expect((err as { code: string }).code).toBe('42501');
    expect(await count()).toBe(0);
    expect((await sql`SELECT 1 AS one`)[0]).toEqual({ one: 1 });
    await sql.end();
  });
});

describe('hold', () => {
  it('delays the statement and everything pipelined behind it, without blocking other connections', async () => {
    const h = holdGate(/held_marker/);
    proxy.setGate(h.gate);
    const c = await RawClient.ready(proxy.port);
    c.send(query("INSERT INTO wire_gate VALUES (30, 'held_marker')"), query('SELECT 99'));
    const hold = await h.next();
    expect(hold.ctx.source).toBe('query');
    const notice = await c.read();
    expect(notice.code).toBe('N');
    expect(errorFields(notice.body).M).toContain('waiting for approval');
    // Another connection keeps working while this one waits.
    const other = new pg.Client(urlFor(proxy.port));
    await other.connect();
    expect((await other.query('SELECT 5 AS five')).rows[0].five).toBe(5);
    await other.end();
    expect(await count()).toBe(0);
    hold.allow();
    const first = await c.readUntilReady();
    expect(first.map((m) => m.code)).toEqual(['C', 'Z']);
    const second = await c.readUntilReady();
    expect(second.map((m) => m.code)).toEqual(['T', 'D', 'C', 'Z']);
    expect(await count()).toBe(1);
    c.end();
  });

  it('an approved statement inside BEGIN … COMMIT runs in that transaction', async () => {
    const h = holdGate(/held_marker/);
    proxy.setGate(h.gate);
    const client = new pg.Client(urlFor(proxy.port));
    await client.connect();
    await client.query('BEGIN');
    await client.query("INSERT INTO wire_gate VALUES (40, 'first')");
    const pending = client.query("INSERT INTO wire_gate VALUES (41, 'held_marker')");
    (await h.next()).allow();
    await pending;
    expect(await count()).toBe(0);
    await client.query('COMMIT');
    expect(await count()).toBe(2);
    await client.end();
  });

  it('a held statement that is denied fails with the error and the connection stays usable', async () => {
    const h = holdGate(/held_marker/);
    proxy.setGate(h.gate);
    const client = new pg.Client(urlFor(proxy.port));
    client.on('notice', () => {});
    await client.connect();
    const pending = client.query('SELECT 1 AS held_marker').catch((e: pg.DatabaseError) => e);
    (await h.next()).deny('not today');
    const err = (await pending) as pg.DatabaseError;
    expect(err.code).toBe('42501');
    expect(err.message).toContain('not today');
    expect((await client.query('SELECT 2 AS two')).rows[0].two).toBe(2);
    await client.end();
  });

  it('extended protocol: the batch is held whole up to Sync', async () => {
    const h = holdGate(/held_marker/);
    proxy.setGate(h.gate);
    const c = await RawClient.ready(proxy.port);
    c.send(parse('s1', "INSERT INTO wire_gate VALUES (50, 'held_marker')"), bind('', 's1'), execute(''), sync());
    const hold = await h.next();
    expect(hold.ctx.source).toBe('parse');
    expect((await c.read()).code).toBe('N');
    expect(await count()).toBe(0);
    hold.allow();
    const msgs = await c.readUntilReady();
    expect(msgs.map((m) => m.code)).toEqual(['1', '2', 'C', 'Z']);
    expect(await count()).toBe(1);
    c.end();
  });

  it('a client that disconnects while held withdraws the hold', async () => {
    const h = holdGate(/held_marker/);
    proxy.setGate(h.gate);
    const c = await RawClient.ready(proxy.port);
    c.send(query('SELECT 1 AS held_marker'));
    const hold = await h.next();
    c.socket.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect(hold.withdrawn).toBe('client_disconnect');
  });

  it('a client that sends Terminate while held is let go at once and the hold is withdrawn', async () => {
    const h = holdGate(/held_marker/);
    proxy.setGate(h.gate);
    const c = await RawClient.ready(proxy.port);
    c.send(query('SELECT 1 AS held_marker'));
    const hold = await h.next();
    // The socket stays open: only the Terminate message says the client is leaving (node-postgres' end() does this).
    c.send(Buffer.from([0x58, 0, 0, 0, 4]));
    await c.closedByPeer();
    expect(hold.withdrawn).toBe('client_disconnect');
  });

  it('a CancelRequest while held withdraws the hold and the client gets an error', async () => {
    const h = holdGate(/held_marker/);
    proxy.setGate(h.gate);
    const client = new pg.Client(urlFor(proxy.port));
    client.on('notice', () => {});
    await client.connect();
    const pending = client.query('SELECT 1 AS held_marker').catch((e: pg.DatabaseError) => e);
    const hold = await h.next();
    const canceller = new pg.Client(urlFor(proxy.port));
    // node-postgres sends CancelRequest with the BackendKeyData it received from pgwarden.
    await (canceller as unknown as { cancel(c: pg.Client, q: unknown): void }).cancel(client, (client as unknown as { activeQuery: unknown }).activeQuery);
    const err = (await pending) as pg.DatabaseError;
    expect(hold.withdrawn).toBe('client_cancel');
    expect(err.message).toContain('withdrawn');
    expect((await client.query('SELECT 3 AS three')).rows[0].three).toBe(3);
    await client.end();
  });
});
