// Issue 11, finding 3: a lexer setting changed earlier in the same pipeline. pgwarden decides a text only under the
// lexer state the server will use (confirmed by the server's ParameterStatus + ReadyForQuery), or refuses it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { bind, errorFields, execute, parse, query, RawClient, startupMessage, sync, type BackendMessage } from '../helpers/raw-client.js';
import { pgUrl } from '../helpers/env.js';
import { bytes, codes, defaultRulesForTests, directClient, markerFile, parseBytes, queryBytes, readReadies } from '../helpers/wire-attack.js';

let app: TestApp;
let admin: pg.Client;
beforeAll(async () => {
  app = await startTestApp({ rules: defaultRulesForTests() });
  admin = new pg.Client(pgUrl());
  await admin.connect();
  // A function that turns standard_conforming_strings off, as any user function may (set_config inside).
  await admin.query(`CREATE OR REPLACE FUNCTION wire_scs_off() RETURNS int LANGUAGE sql AS $$ SELECT 1 FROM (SELECT set_config('standard_conforming_strings', 'off', false)) s $$`);
});
afterAll(async () => {
  await admin.query('DROP FUNCTION IF EXISTS wire_scs_off()');
  await admin.end();
  await app.close();
});

/** Under standard_conforming_strings = off, 'x\' -- ' is one string and the COPY runs; under on, it is a comment. */
const hidden = (file: string) => `SELECT 'x\\' -- ';COPY (SELECT 1) TO PROGRAM 'touch ${file}';--`;

async function proxied(params: Record<string, string> = {}): Promise<RawClient> {
  const c = await RawClient.connect(app.port);
  c.send(startupMessage({ user: 'postgres', database: 'postgres', ...params }));
  await c.readUntilReady();
  return c;
}

/** The server's error codes in a reply sequence. */
const errors = (msgs: readonly BackendMessage[]) => msgs.filter((m) => m.code === 'E').map((m) => errorFields(m.body).C);

/** Sends `messages` straight to PostgreSQL in one write and returns whether the marker file appeared (the control). */
async function directRuns(file: ReturnType<typeof markerFile>, readies: number, ...messages: Buffer[]): Promise<boolean> {
  const c = await directClient();
  c.send(...messages);
  await readReadies(c, readies);
  c.end();
  const ran = file.exists();
  file.remove();
  return ran;
}

describe('simple protocol: the setting and the text in one TCP write', () => {
  for (const [what, change] of [
    ['SET standard_conforming_strings = off', 'SET standard_conforming_strings = off'],
    ['set_config(…) in a SELECT', "SELECT set_config('standard_conforming_strings', 'off', false)"],
    ['a user function that calls set_config', 'SELECT wire_scs_off()'],
  ] as const) {
    it(`${what}: the hidden COPY TO PROGRAM does not run`, async () => {
      const control = markerFile('scs-control');
      expect(await directRuns(control, 2, query(change), query(hidden(control.path)))).toBe(true);

      const target = markerFile('scs');
      const c = await proxied();
      c.send(query(change), query(hidden(target.path)));
      const msgs = await readReadies(c, 2);
      // The second text is read under standard_conforming_strings = off: it cannot be decided (unknown), so the default
      // rules send it to review, which expires in this test.
      expect(errors(msgs)).toEqual(['57014']);
      expect(target.exists()).toBe(false);
      c.end();
    });
  }

  it('SET client_encoding pipelined before an SJIS text: the text is read as SJIS and the hidden COPY is denied', async () => {
    const text = (file: string) => bytes("SELECT E'", [0x81, 0x5c], `'; COPY (SELECT 1) TO PROGRAM 'touch ${file}'; --'`);
    const control = markerFile('enc-control');
    expect(await directRuns(control, 2, query("SET client_encoding = 'SJIS'"), queryBytes(text(control.path)))).toBe(true);

    const target = markerFile('enc');
    const c = await proxied();
    c.send(query("SET client_encoding = 'SJIS'"), queryBytes(text(target.path)));
    const msgs = await readReadies(c, 2);
    expect(errors(msgs)).toEqual(['42501']);
    expect(target.exists()).toBe(false);
    c.end();
  });

  it('RESET ALL pipelined after SET … = on returns to the startup value (off): the next text is judged under off', async () => {
    const target = markerFile('reset');
    const c = await proxied({ options: '-c standard_conforming_strings=off' });
    c.send(query('SET standard_conforming_strings = on'));
    await c.readUntilReady();
    c.send(query('RESET ALL'), query(hidden(target.path)));
    const msgs = await readReadies(c, 2);
    expect(errors(msgs)).toEqual(['57014']);
    expect(target.exists()).toBe(false);
    c.end();
  });

  it('a SET inside a transaction that rolls back is undone, and pgwarden follows: a backslash text runs as written', async () => {
    const c = await proxied();
    c.send(query('BEGIN'), query('SET standard_conforming_strings = off'), query('ROLLBACK'), query("SELECT 'a\\b' AS v"));
    const msgs = await readReadies(c, 4);
    expect(errors(msgs)).toEqual([]);
    const row = msgs.find((m) => m.code === 'D')!;
    expect(row.body.toString('utf8', 6)).toBe('a\\b');
    c.end();
  });

  it('standard_conforming_strings = off from the startup packet (options and plain parameter) is in force at once', async () => {
    for (const params of [{ options: '-c standard_conforming_strings=off' }, { standard_conforming_strings: 'off' }] as Record<string, string>[]) {
      const target = markerFile('startup-scs');
      const c = await proxied(params);
      c.send(query(hidden(target.path)));
      const msgs = await readReadies(c, 1);
      expect(errors(msgs)).toEqual(['57014']);
      expect(target.exists()).toBe(false);
      c.end();
    }
  });
});

/**
 * One statement whose reading depends on standard_conforming_strings: under on (what the parser assumes) it selects two
 * literals; under off the first literal ends later and the server reads a file.
 */
const READS_FILE = "SELECT 'a\\' AS x, ' , pg_catalog.pg_read_file($$/etc/hostname$$) AS y --'";

describe('extended protocol', () => {
  it('control: under standard_conforming_strings = off the server really reads the file', async () => {
    const c = await directClient();
    c.send(parse('', 'SET standard_conforming_strings = off'), bind('', ''), execute(''), parse('', READS_FILE), bind('', ''), execute(''), sync());
    const msgs = await readReadies(c, 1);
    const row = msgs.find((m) => m.code === 'D')!;
    expect(row.body.readInt16BE(0)).toBe(2);
    c.end();
  });

  it('SET and the text in one pipeline without Sync between: the text is refused (0A000) and no row comes back', async () => {
    const c = await proxied();
    c.send(parse('', 'SET standard_conforming_strings = off'), bind('', ''), execute(''), parse('', READS_FILE), bind('', ''), execute(''), sync());
    const msgs = await readReadies(c, 1);
    expect(errors(msgs)).toEqual(['0A000']);
    expect(msgs.some((m) => m.code === 'D')).toBe(false);
    c.end();
  });

  it('the same with set_config inside a function, and after a Flush that returned the answers to the SET early', async () => {
    const c = await proxied();
    c.send(parse('', 'SELECT wire_scs_off()'), bind('', ''), execute(''), msgFlush());
    expect(codes([await c.read(), await c.read(), await c.read(), await c.read()])).toBe('12DC');
    c.send(parse('', READS_FILE), bind('', ''), execute(''), sync());
    const msgs = await readReadies(c, 1);
    expect(errors(msgs)).toEqual(['0A000']);
    expect(msgs.some((m) => m.code === 'D')).toBe(false);
    c.end();
  });

  it('pipelined units with Sync between: the text waits for the SET to be confirmed, then cannot be decided', async () => {
    const c = await proxied();
    c.send(parse('', 'SET standard_conforming_strings = off'), bind('', ''), execute(''), sync(), parse('', READS_FILE), bind('', ''), execute(''), sync());
    const msgs = await readReadies(c, 2);
    expect(errors(msgs)).toEqual(['57014']);
    expect(msgs.some((m) => m.code === 'D')).toBe(false);
    c.end();
  });

  it('SET client_encoding in one unit and an SJIS Parse in the next, pipelined: decided as SJIS after the server confirms it', async () => {
    const c = await proxied();
    // The SJIS character swallows the backslash, so the server reads a literal and then a file read; a UTF-8 reading
    // would see one long literal.
    c.send(
      parse('', "SET client_encoding = 'SJIS'"), bind('', ''), execute(''), sync(),
      parseBytes('', bytes("SELECT E'", [0x81, 0x5c], "', pg_catalog.pg_read_file($$/etc/hostname$$) --'")), bind('', ''), execute(''), sync(),
    );
    const msgs = await readReadies(c, 2);
    expect(errors(msgs)).toEqual(['42501']);
    expect(msgs.some((m) => m.code === 'D')).toBe(false);
    c.end();
  });

  it('ASCII texts without backslashes are never delayed or refused by an unconfirmed SET (they read the same either way)', async () => {
    const c = await proxied();
    c.send(parse('', 'SET standard_conforming_strings = off'), bind('', ''), execute(''), parse('', "SELECT 'plain' AS v"), bind('', ''), execute(''), sync());
    const msgs = await readReadies(c, 1);
    expect(errors(msgs)).toEqual([]);
    expect(codes(msgs)).toBe('12C12DCSZ'); // S: the ParameterStatus of the SET, before ReadyForQuery
    c.end();
  });
});

const msgFlush = () => Buffer.from([0x48, 0, 0, 0, 4]);
