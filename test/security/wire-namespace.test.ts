// Issue 11, findings 5 and 6: the names of prepared statements and portals. pgwarden must know a name only as the
// server confirmed it, SQL PREPARE and protocol Parse share one namespace, and every later use is decided again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { decide, startTestApp, TOKENS, waitForPending, type TestApp } from '../helpers/app.js';
import { bind, errorFields, execute, msg, parse, query, RawClient, startupMessage, sync, type BackendMessage } from '../helpers/raw-client.js';
import { pgUrl } from '../helpers/env.js';
import { defaultRulesForTests, readReadies } from '../helpers/wire-attack.js';

let app: TestApp;
let admin: pg.Client;
beforeAll(async () => {
  app = await startTestApp({ rules: defaultRulesForTests() });
  admin = new pg.Client(pgUrl());
  await admin.connect();
  await admin.query(`DROP TABLE IF EXISTS wire_customers; CREATE TABLE wire_customers (id int, email text, ssn text);
    INSERT INTO wire_customers SELECT g, 'user' || g || '@example.com', lpad(g::text, 9, '0') FROM generate_series(1, 20) g`);
});
afterAll(async () => {
  await admin.query('DROP TABLE IF EXISTS wire_customers');
  await admin.end();
  await app.close();
});

const msgClose = (kind: 'S' | 'P', name: string) => msg('C', `${kind}${name}\0`);
const errors = (msgs: readonly BackendMessage[]) => msgs.filter((m) => m.code === 'E').map((m) => errorFields(m.body).C);
/** Rows or COPY data the client received. */
const data = (msgs: readonly BackendMessage[]) => msgs.filter((m) => m.code === 'D' || m.code === 'd' || m.code === 'H').length;

/** Sends `messages` (ending with Sync/Query), approves the review request whose SQL contains `sql`, returns the replies. */
async function approved(c: RawClient, sql: string, ...messages: Buffer[]): Promise<BackendMessage[]> {
  c.send(...messages);
  const pending = await waitForPending(app.api, (r: { sql: string }) => r.sql.includes(sql));
  expect((await decide(app.api, pending.id, TOKENS['alice@example.com'], 'approve', 'test approves once')).status).toBe(200);
  return readReadies(c, 1);
}

describe('finding 6: a Parse the server rejects does not rename a statement', () => {
  it('named: after an approved COPY s1, a rejected re-Parse of s1 leaves s1 the COPY, and its next use is decided again', async () => {
    const c = await RawClient.ready(app.port);
    const first = await approved(c, 'COPY wire_customers', parse('s1', 'COPY wire_customers TO STDOUT'), sync());
    expect(first.map((m) => m.code)).toContain('1');
    c.send(parse('s1', 'SELECT 1'), sync());
    expect(errors(await readReadies(c, 1))).toEqual(['42P05']); // the server keeps the COPY under s1
    c.send(bind('', 's1'), execute(''), sync());
    const use = await readReadies(c, 1);
    expect(errors(use)).toEqual(['57014']); // the COPY needs review again; nobody approves it this time
    expect(data(use)).toBe(0);
    c.end();
  });

  it('unnamed: a Parse the server rejects drops the unnamed statement, so the old COPY cannot be bound', async () => {
    const c = await RawClient.ready(app.port);
    await approved(c, 'COPY wire_customers', parse('', 'COPY wire_customers TO STDOUT'), sync());
    c.send(parse('', 'SELECT * FROM wire_no_such_table'), sync());
    expect(errors(await readReadies(c, 1))).toEqual(['42P01']);
    c.send(bind('', ''), execute(''), sync());
    const use = await readReadies(c, 1);
    expect(errors(use)).toEqual(['26000']);
    expect(data(use)).toBe(0);
    c.end();
  });

  it('unnamed: a Parse the server skips (after an error in its unit) does not replace the approved COPY', async () => {
    const c = await RawClient.ready(app.port);
    await approved(c, 'COPY wire_customers', parse('', 'COPY wire_customers TO STDOUT'), sync());
    // The first Parse fails on the server, which then discards every message up to Sync: the unnamed Parse never runs.
    c.send(parse('x', 'SELECT * FROM wire_no_such_table'), parse('', 'SELECT 1'), sync());
    expect(errors(await readReadies(c, 1))).toEqual(['42P01']);
    c.send(bind('', ''), execute(''), sync());
    const use = await readReadies(c, 1);
    expect(errors(use)).toEqual(['57014']); // still the COPY, decided again
    expect(data(use)).toBe(0);
    c.end();
  });

  it('named: a Close and re-Parse the server skips after an error leave the approved COPY in place', async () => {
    const c = await RawClient.ready(app.port);
    await approved(c, 'COPY wire_customers', parse('s3', 'COPY wire_customers TO STDOUT'), sync());
    c.send(parse('x', 'SELECT * FROM wire_no_such_table'), msgClose('S', 's3'), parse('s3', 'SELECT 1'), sync());
    expect(errors(await readReadies(c, 1))).toEqual(['42P01']);
    c.send(bind('', 's3'), execute(''), sync());
    const use = await readReadies(c, 1);
    expect(errors(use)).toEqual(['57014']);
    expect(data(use)).toBe(0);
    c.end();
  });

  it('pipelined in one write: the failing re-Parse and the Bind after it cannot be confused either', async () => {
    const c = await RawClient.ready(app.port);
    await approved(c, 'COPY wire_customers', parse('s2', 'COPY wire_customers TO STDOUT'), sync());
    c.send(parse('s2', 'SELECT 1'), sync(), bind('', 's2'), execute(''), sync());
    const msgs = await readReadies(c, 2);
    expect(errors(msgs)).toEqual(['42P05', '57014']);
    expect(data(msgs)).toBe(0);
    c.end();
  });
});

describe('names are read as the server reads them (in client_encoding), never merged', () => {
  it('LATIN1 names that are invalid UTF-8 stay two names: the approved COPY is not confused with a SELECT', async () => {
    const c = await RawClient.connect(app.port);
    c.send(startupMessage({ user: 'postgres', database: 'postgres', client_encoding: 'LATIN1' }));
    await c.readUntilReady();
    const nameCopy = Buffer.from([0xe9]);
    const nameSelect = Buffer.from([0xe8]);
    const rawParse = (name: Buffer, text: string) => msg('P', Buffer.concat([name, Buffer.from([0]), Buffer.from(text + '\0'), Buffer.from([0, 0])]));
    const rawBind = (name: Buffer) => msg('B', Buffer.concat([Buffer.from([0]), name, Buffer.from([0, 0, 0, 0, 0, 0, 0])]));
    await approved(c, 'COPY wire_customers', rawParse(nameCopy, 'COPY wire_customers TO STDOUT'), sync());
    c.send(rawParse(nameSelect, 'SELECT 1'), sync());
    expect(errors(await readReadies(c, 1))).toEqual([]);
    c.send(rawBind(nameCopy), execute(''), sync());
    const use = await readReadies(c, 1);
    expect(errors(use)).toEqual(['57014']);
    expect(data(use)).toBe(0);
    c.end();
  });
});

describe('finding 5: SQL PREPARE and protocol Bind share one namespace', () => {
  it('PREPARE approved once, then Bind(p)/Execute: decided again, rows not returned', async () => {
    const c = await RawClient.ready(app.port);
    const prep = await approved(c, 'PREPARE p5', query('PREPARE p5 AS SELECT id, email, ssn FROM wire_customers LIMIT 50000'));
    expect(errors(prep)).toEqual([]);
    for (let i = 0; i < 2; i++) {
      c.send(bind('', 'p5'), execute(''), sync());
      const use = await readReadies(c, 1);
      expect(errors(use)).toEqual(['57014']);
      expect(data(use)).toBe(0);
    }
    // SQL EXECUTE of the same name is reviewed too.
    c.send(query('EXECUTE p5'));
    const sqlUse = await readReadies(c, 1);
    expect(errors(sqlUse)).toEqual(['57014']);
    expect(data(sqlUse)).toBe(0);
    c.end();
  });

  it('an approved second use runs once; the third is asked again', async () => {
    const c = await RawClient.ready(app.port);
    await approved(c, 'PREPARE p6', query('PREPARE p6 AS SELECT id, email, ssn FROM wire_customers LIMIT 50000'));
    const second = await approved(c, 'PREPARE p6', bind('', 'p6'), execute(''), sync());
    expect(data(second)).toBe(20);
    c.send(bind('', 'p6'), execute(''), sync());
    expect(data(await readReadies(c, 1))).toBe(0);
    c.end();
  });

  it('a PREPARE sent through Parse/Execute registers its name as the server confirms it', async () => {
    const c = await RawClient.ready(app.port);
    await approved(c, 'PREPARE p7', parse('', 'PREPARE p7 AS SELECT id, email, ssn FROM wire_customers LIMIT 50000'), bind('', ''), execute(''), sync());
    c.send(bind('', 'p7'), execute(''), sync());
    const use = await readReadies(c, 1);
    expect(errors(use)).toEqual(['57014']);
    expect(data(use)).toBe(0);
    c.end();
  });

  it('after DEALLOCATE or DISCARD ALL the name is unknown to pgwarden, as to the server (26000)', async () => {
    const c = await RawClient.ready(app.port);
    for (const forget of ['DEALLOCATE p8', 'DEALLOCATE ALL', 'DISCARD ALL']) {
      c.send(query('PREPARE p8 AS SELECT 1'), query(forget));
      await readReadies(c, 2);
      c.send(bind('', 'p8'), execute(''), sync());
      expect(errors(await readReadies(c, 1))).toEqual(['26000']);
    }
    c.end();
  });

  it('a failed re-PREPARE keeps the old statement (the server does), and its use is decided on the old text', async () => {
    const c = await RawClient.ready(app.port);
    c.send(query('PREPARE p9 AS SELECT 1 AS one'));
    await readReadies(c, 1);
    c.send(query('PREPARE p9 AS SELECT id, email, ssn FROM wire_customers LIMIT 50000'));
    const again = await readReadies(c, 1);
    // pgwarden reviews the second PREPARE (it exports) — it expires — so the server never sees it; p9 stays SELECT 1.
    expect(errors(again)).toEqual(['57014']);
    c.send(bind('', 'p9'), execute(''), sync());
    const use = await readReadies(c, 1);
    expect(errors(use)).toEqual([]);
    expect(data(use)).toBe(1);
    c.end();
  });
});
