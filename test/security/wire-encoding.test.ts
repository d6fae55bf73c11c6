// Issue 11, finding 2: client encodings whose multibyte characters contain a 0x5c byte. pgwarden must read the text
// the way the server does (or refuse it): a character that swallows a backslash must not hide a COPY … TO PROGRAM.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { errorFields, query, RawClient, startupMessage } from '../helpers/raw-client.js';
import { pgUrl } from '../helpers/env.js';
import { bytes, codes, defaultRulesForTests, directClient, markerFile, queryBytes, readReadies } from '../helpers/wire-attack.js';

let app: TestApp;
let admin: pg.Client;
beforeAll(async () => {
  app = await startTestApp({ rules: defaultRulesForTests() });
  admin = new pg.Client(pgUrl());
  await admin.connect();
});
afterAll(async () => {
  await admin.end();
  await app.close();
});

/** `SELECT E'<char>'; COPY (SELECT 1) TO PROGRAM 'touch <file>'; --'`: under the encoding, <char> ends before the quote. */
function attack(char: number[], file: string): Buffer {
  return bytes("SELECT E'", char, `'; COPY (SELECT 1) TO PROGRAM 'touch ${file}'; --'`);
}

async function proxied(params: Record<string, string>): Promise<RawClient> {
  const c = await RawClient.connect(app.port);
  c.send(startupMessage({ user: 'postgres', database: 'postgres', ...params }));
  await c.readUntilReady();
  return c;
}

// Characters whose second byte is 0x5c in each encoding (checked against the server in the control below).
const SWALLOWERS: [string, number[]][] = [
  ['SJIS', [0x81, 0x5c]],
  ['BIG5', [0xa4, 0x5c]],
  ['GBK', [0x81, 0x5c]],
  ['GB18030', [0x81, 0x5c]],
];

describe('a multibyte character ending in 0x5c cannot hide a statement', () => {
  for (const [encoding, char] of SWALLOWERS) {
    it(`${encoding}: the server would run the hidden COPY TO PROGRAM; through pgwarden it is denied and nothing runs`, async () => {
      // Control: the same bytes sent straight to PostgreSQL really run the program (the test can fail).
      const control = markerFile(`${encoding}-control`);
      const direct = await directClient({ client_encoding: encoding });
      direct.send(queryBytes(attack(char, control.path)));
      await direct.readUntilReady();
      direct.end();
      expect(control.exists()).toBe(true);
      control.remove();

      const target = markerFile(encoding);
      const c = await proxied({ client_encoding: encoding });
      c.send(queryBytes(attack(char, target.path)));
      const msgs = await c.readUntilReady();
      expect(codes(msgs)).toBe('EZ');
      expect(errorFields(msgs[0]!.body).C).toBe('42501');
      expect(errorFields(msgs[0]!.body).M).toContain('privileged');
      expect(target.exists()).toBe(false);
      c.end();
    });
  }

  it('SJIS set with SET client_encoding (not at startup): the next text is read as SJIS, the hidden COPY is denied', async () => {
    const target = markerFile('sjis-set');
    const c = await proxied({});
    c.send(query("SET client_encoding = 'SJIS'"));
    await c.readUntilReady();
    c.send(queryBytes(attack([0x81, 0x5c], target.path)));
    const msgs = await c.readUntilReady();
    expect(errorFields(msgs.find((m) => m.code === 'E')!.body).C).toBe('42501');
    expect(target.exists()).toBe(false);
    c.end();
  });

  it('SJIS text without an attack runs, and the server returns the character pgwarden read', async () => {
    const c = await proxied({ client_encoding: 'SJIS' });
    c.send(queryBytes(bytes("SELECT E'", [0x81, 0x5c], "' AS v")));
    const msgs = await c.readUntilReady();
    expect(codes(msgs)).toContain('TD');
    const row = msgs.find((m) => m.code === 'D')!.body;
    expect(row.subarray(6, 8)).toEqual(Buffer.from([0x81, 0x5c]));
    c.end();
  });

  it('JOHAB (which pgwarden cannot decode): a text with non-ASCII bytes is refused with 22021, nothing runs', async () => {
    const target = markerFile('johab');
    const c = await proxied({ client_encoding: 'JOHAB' });
    c.send(queryBytes(attack([0x88, 0x5c], target.path)));
    const msgs = await c.readUntilReady();
    expect(codes(msgs)).toBe('EZ');
    const f = errorFields(msgs[0]!.body);
    expect(f.C).toBe('22021');
    expect(f.M).toContain('JOHAB');
    expect(target.exists()).toBe(false);
    // ASCII texts need no decoding and keep working.
    c.send(query('SELECT 1'));
    expect(codes(await c.readUntilReady())).toBe('TDCZ');
    c.end();
  });

  it('UHC and invalid byte sequences: pgwarden refuses or the server rejects, nothing runs either way', async () => {
    for (const [encoding, char] of [['UHC', [0x81, 0x5c]], ['SJIS', [0x80, 0x5c]], ['BIG5', [0xff, 0x5c]]] as const) {
      const target = markerFile(`${encoding}-invalid`);
      const c = await proxied({ client_encoding: encoding });
      c.send(queryBytes(attack([...char], target.path)));
      const msgs = await c.readUntilReady();
      expect(codes(msgs)).toBe('EZ');
      expect(['22021', '42501']).toContain(errorFields(msgs[0]!.body).C);
      expect(target.exists()).toBe(false);
      c.end();
    }
  });

  it('client_encoding SQL_ASCII on a UTF8 server: texts are read as UTF-8, as the server validates them', async () => {
    const target = markerFile('sqlascii');
    const c = await proxied({ client_encoding: 'SQL_ASCII' });
    c.send(queryBytes(attack([0xe3, 0x80, 0x81], target.path)));
    const msgs = await readReadies(c, 1);
    expect(errorFields(msgs.find((m) => m.code === 'E')!.body).C).toBe('42501');
    expect(target.exists()).toBe(false);
    c.end();
  });
});
