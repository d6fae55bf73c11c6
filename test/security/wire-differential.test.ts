// The class behind findings 2 and 3, proved against the real server: for generated texts mixing quotes, backslashes,
// dollar quotes, U&/E strings, comments and multibyte characters, under each client encoding and both
// standard_conforming_strings values, what pgwarden read (the text its gate saw) has the statement boundaries and
// literal values that PostgreSQL executed for the same bytes — or pgwarden failed closed (refused, or `unknown`).
// Oracle: every statement is `SELECT convert_to(<literal>, 'UTF8')`, so the server's result sets say how it split the
// text and what each literal's value was, in bytes independent of the client encoding.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import pg from 'pg';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { bind, errorFields, execute, RawClient, startupMessage, sync, type BackendMessage } from '../helpers/raw-client.js';
import { pgUrl } from '../helpers/env.js';
import { parseBytes, queryBytes, readReadies } from '../helpers/wire-attack.js';
import { ALLOW, type Gate, type StatementContext } from '../../src/proxy/gate.js';
import { parseSql } from '../../src/sql/parse.js';

let proxy: TestProxy;
let admin: pg.Client;
let seen: StatementContext | null = null;
const recording: Gate = { decide: (ctx) => ((seen = ctx), ALLOW) };

const DATABASES = { utf8: 'postgres', eucjp: 'pgw_wire_eucjp', sqlascii: 'pgw_wire_sqlascii' } as const;

/** Candidate characters per client encoding (bytes); those the server rejects are dropped in beforeAll. */
const CANDIDATES: Record<string, number[][]> = {
  UTF8: [[0xc3, 0xa9], [0xe4, 0xb8, 0xad], [0xf0, 0x9f, 0x98, 0x80], [0xe2, 0x80, 0xa8]],
  /** On the EUC_JP database: characters EUC_JP has (あ, 中, half-width ｱ). */
  'UTF8@eucjp': [[0xe3, 0x81, 0x82], [0xe4, 0xb8, 0xad], [0xef, 0xbd, 0xb1]],
  SQL_ASCII: [[0xc3, 0xa9], [0xe4, 0xb8, 0xad]],
  SJIS: [[0x81, 0x5c], [0x95, 0x5c], [0x94, 0x5c], [0x83, 0x65], [0xb1], [0x88, 0x9f]],
  BIG5: [[0xa4, 0x5c], [0xa5, 0x5c], [0xa4, 0xa4], [0xb3, 0x5c]],
  GBK: [[0x81, 0x5c], [0x95, 0x5c], [0xd6, 0xd0]],
  GB18030: [[0x81, 0x5c], [0xd6, 0xd0], [0x81, 0x30, 0x81, 0x30], [0x84, 0x31, 0xa4, 0x39], [0x95, 0x32, 0x82, 0x36]],
  UHC: [[0xb0, 0xa1], [0x81, 0x41], [0xc6, 0x52], [0xa1, 0xa1]],
  EUC_JP: [[0xa4, 0xa2], [0x8e, 0xb1], [0x8f, 0xb0, 0xa1], [0xb0, 0xa1]],
  EUC_KR: [[0xb0, 0xa1], [0xa1, 0xa1]],
  EUC_CN: [[0xd6, 0xd0], [0xa1, 0xa1]],
  LATIN1: [[0xe9], [0x80], [0xff], [0xa0]],
  WIN1251: [[0xc0], [0xff], [0xb8]],
};
const chars: Record<string, number[][]> = {};

beforeAll(async () => {
  proxy = await startProxy({ gate: recording });
  admin = new pg.Client(pgUrl());
  await admin.connect();
  for (const [name, encoding] of [[DATABASES.eucjp, 'EUC_JP'], [DATABASES.sqlascii, 'SQL_ASCII']] as const) {
    const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount;
    if (!exists) await admin.query(`CREATE DATABASE ${name} ENCODING '${encoding}' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'`);
  }
  await admin.query(`CREATE OR REPLACE FUNCTION pg_temp.pgw_valid(b bytea, enc name) RETURNS boolean LANGUAGE plpgsql AS $$
    BEGIN PERFORM convert_from(b, enc); RETURN true; EXCEPTION WHEN others THEN RETURN false; END $$`);
  for (const [encoding, list] of Object.entries(CANDIDATES)) {
    chars[encoding] = [];
    for (const c of list) {
      const enc = encoding === 'SQL_ASCII' ? 'UTF8' : encoding.replace(/@.*/, '');
      if ((await admin.query('SELECT pg_temp.pgw_valid($1, $2) AS ok', [Buffer.from(c), enc])).rows[0].ok) chars[encoding]!.push(c);
    }
    expect(chars[encoding]!.length, encoding).toBeGreaterThan(0);
  }
});
afterAll(async () => {
  await admin.end();
  await proxy.close();
});

// ── the generator ───────────────────────────────────────────────────────────────────────────────────────

type Ch = { readonly bytes: number[] } | { readonly ascii: string } | { readonly escape: string };
const ASCII = ["'", '\\', '$', ';', '"', '-', '/', '*', ' ', '\n', 'a', 'Z', '0', '!'];
const ESCAPES_E = ['\\n', '\\x41', '\\101', '\\u00e9', '\\U0001F600', "\\'", '\\\\'];
const ESCAPES_U = ['\\0041', '\\00e9', '\\+01F600'];

interface Literal {
  readonly kind: 'std' | 'e' | 'u' | 'dollar';
  readonly body: readonly Ch[];
  readonly tag: string;
  readonly uescape: boolean;
}
interface Statement {
  readonly literal: Literal;
  readonly alias: readonly Ch[] | null;
}
interface Gap {
  readonly comment: 'none' | 'line' | 'block';
  readonly body: readonly Ch[];
}

function chArb(encoding: string, backslashes: boolean): fc.Arbitrary<Ch> {

  const ascii = ASCII.filter((a) => backslashes || a !== '\\');
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...ascii).map((a) => ({ ascii: a })) },
    { weight: 3, arbitrary: fc.constantFrom(...chars[encoding]!).map((b) => ({ bytes: b })) },
  );
}

function literalArb(encoding: string, backslashes: boolean): fc.Arbitrary<Literal> {
  const body = fc.array(fc.oneof({ weight: 6, arbitrary: chArb(encoding, backslashes) }, { weight: 1, arbitrary: fc.constantFrom(...ESCAPES_E, ...ESCAPES_U).map((e) => ({ escape: e })) }), { maxLength: 8 });
  return fc.record({ kind: fc.constantFrom('std', 'e', 'u', 'dollar'), body, tag: fc.constantFrom('', 'q', 'x_1'), uescape: fc.boolean() }).map((l) => ({
    ...l,
    // Escape sequences exist only in E and U& strings, and only where backslashes are generated at all.
    body: l.body.filter((c) => !('escape' in c) || (backslashes && (l.kind === 'e' ? ESCAPES_E.includes(c.escape) : l.kind === 'u' && ESCAPES_U.includes(c.escape)))),
  }));
}

function textArb(encoding: string): fc.Arbitrary<{ statements: Statement[]; gaps: Gap[]; trailing: boolean }> {
  return fc.boolean().chain((backslashes) => {
    const statement = fc.record({ literal: literalArb(encoding, backslashes), alias: fc.option(fc.array(chArb(encoding, backslashes), { minLength: 1, maxLength: 4 }), { nil: null }) });
    const gap = fc.record({ comment: fc.constantFrom('none', 'line', 'block'), body: fc.array(chArb(encoding, backslashes), { maxLength: 6 }) });
    return fc.record({ statements: fc.array(statement, { minLength: 1, maxLength: 4 }), gaps: fc.array(gap, { minLength: 4, maxLength: 4 }), trailing: fc.boolean() });
  });
}

const ascii = (s: string) => [...Buffer.from(s, 'latin1')];

/** Encodes a literal so that the correct lexer (this encoding, this standard_conforming_strings) reads it whole. */
function encodeLiteral(l: Literal, scs: boolean): number[] {
  const out: number[] = [];
  const put = (c: Ch, quote: (a: string) => string) => {
    if ('bytes' in c) out.push(...c.bytes);
    else if ('escape' in c) out.push(...ascii(l.uescape && l.kind === 'u' ? c.escape.replace('\\', '!') : c.escape));
    else out.push(...ascii(quote(c.ascii)));
  };
  switch (l.kind) {
    case 'std':
      out.push(...ascii("'"));
      for (const c of l.body) put(c, (a) => (a === "'" ? "''" : a === '\\' && !scs ? '\\\\' : a));
      out.push(...ascii("'"));
      break;
    case 'e':
      out.push(...ascii("E'"));
      for (const c of l.body) put(c, (a) => (a === "'" ? "''" : a === '\\' ? '\\\\' : a));
      out.push(...ascii("'"));
      break;
    case 'u':
      out.push(...ascii("U&'"));
      for (const c of l.body) put(c, (a) => (a === "'" ? "''" : a === '\\' && !l.uescape ? '\\\\' : a === '!' && l.uescape ? '!!' : a));
      out.push(...ascii(l.uescape ? "' UESCAPE '!'" : "'"));
      break;
    case 'dollar': {
      const delim = ascii(`$${l.tag}$`);
      out.push(...delim);
      for (const c of l.body) put(c, (a) => (a === '$' ? 'S' : a)); // a '$' could close or open a delimiter
      out.push(...delim);
      break;
    }
  }
  return out;
}

function encodeText(t: { statements: Statement[]; gaps: Gap[]; trailing: boolean }, scs: boolean): Buffer {
  const out: number[] = [];
  const gap = (g: Gap | undefined) => {
    if (!g || g.comment === 'none') return void out.push(0x20);
    const body: number[] = [];
    for (const c of g.body) {
      if ('bytes' in c) body.push(...c.bytes);
      else if ('ascii' in c && !(g.comment === 'line' && c.ascii === '\n') && !(g.comment === 'block' && (c.ascii === '*' || c.ascii === '/'))) body.push(...ascii(c.ascii));
    }
    out.push(...ascii(g.comment === 'line' ? ' --' : ' /*'), ...body, ...ascii(g.comment === 'line' ? '\n' : '*/ '));
  };
  t.statements.forEach((s, i) => {
    gap(t.gaps[i % t.gaps.length]);
    out.push(...ascii('SELECT convert_to('), ...encodeLiteral(s.literal, scs), ...ascii(", 'UTF8')"));
    if (s.alias) {
      out.push(...ascii(' AS "'));
      for (const c of s.alias) out.push(...('bytes' in c ? c.bytes : ascii('ascii' in c ? (c.ascii === '"' ? '""' : c.ascii) : '')));
      out.push(...ascii('"'));
    }
    if (i < t.statements.length - 1 || t.trailing) out.push(...ascii(';'));
  });
  gap(t.gaps[3]);
  return Buffer.from(out);
}

// ── the two readings ───────────────────────────────────────────────────────────────────────────────────

/** What the server executed: one hex value per result set, and whether it reported an error. */
function serverReading(msgs: readonly BackendMessage[]): { values: string[]; error: string | null } {
  const values: string[] = [];
  let error: string | null = null;
  for (const m of msgs) {
    if (m.code === 'D') {
      const len = m.body.readInt32BE(2);
      values.push(m.body.toString('latin1', 6, 6 + len).replace(/^\\x/, ''));
    } else if (m.code === 'E') error = errorFields(m.body).C ?? 'E';
  }
  return { values, error };
}

type Reading = { readonly kind: 'refused' } | { readonly kind: 'unknown' } | { readonly kind: 'values'; readonly values: (string | null)[] };

/** What pgwarden read: the text its gate saw, parsed as the analyzer parses it; `unknown` = the gate fails closed. */
function pgwardenReading(ctx: StatementContext | null): Reading {
  if (ctx === null) return { kind: 'refused' };
  if (ctx.facts?.categories.includes('unknown')) return { kind: 'unknown' };
  const parsed = parseSql(ctx.text);
  if (!parsed.ok) return { kind: 'unknown' };
  return {
    kind: 'values',
    values: parsed.stmts.map((raw) => {
      const target = (raw.stmt as any).SelectStmt?.targetList;
      const call = target?.length === 1 ? target[0].ResTarget?.val?.FuncCall : undefined;
      const name = call?.funcname?.map((n: any) => n.String?.sval).join('.');
      const arg = call?.args?.[0]?.A_Const;
      if (name !== 'convert_to' || call.args.length !== 2 || arg === undefined || arg.sval === undefined) return null;
      return Buffer.from(arg.sval.sval ?? '', 'utf8').toString('hex');
    }),
  };
}

interface Tally {
  compared: number;
  executed: number;
  closed: number;
}

async function check(c: RawClient, message: Buffer, extended: boolean, tally: Tally): Promise<void> {
  seen = null;
  c.send(message);
  const msgs = await readReadies(c, 1);
  const server = serverReading(msgs);
  const mine = pgwardenReading(seen);
  if (server.values.length > 0) tally.executed++;
  if (mine.kind !== 'values') {
    tally.closed++;
    if (mine.kind === 'refused') expect(server.values, 'pgwarden refused, so nothing may have run').toEqual([]);
    return;
  }
  if (server.values.length === 0 && server.error !== null) return; // the server rejected the text: nothing ran
  tally.compared++;
  const expected = server.error === null ? mine.values : mine.values.slice(0, server.values.length);
  expect(server.values, `${extended ? 'Parse' : 'Query'} ${message.subarray(5).toString('hex')}: pgwarden read ${JSON.stringify(mine.values)}`).toEqual(expected);
  if (server.error !== null && !extended) expect(mine.values.length).toBeGreaterThan(server.values.length);
}

const COMBOS: [keyof typeof DATABASES, string][] = [
  ...['UTF8', 'SJIS', 'BIG5', 'GBK', 'GB18030', 'UHC', 'EUC_JP', 'EUC_KR', 'EUC_CN', 'LATIN1', 'WIN1251', 'SQL_ASCII'].map((e) => ['utf8', e] as [keyof typeof DATABASES, string]),
  ['eucjp', 'EUC_JP'],
  ['eucjp', 'SJIS'],
  ['eucjp', 'UTF8'],
  ['sqlascii', 'UTF8'],
];

describe('pgwarden reads each text as the server executes it, or fails closed', () => {
  for (const [db, encoding] of COMBOS) {
    for (const scs of [true, false]) {
      it(`${encoding} on a ${db} database, standard_conforming_strings ${scs ? 'on' : 'off'}`, async () => {
        const c = await RawClient.connect(proxy.port);
        c.send(startupMessage({ user: 'postgres', database: DATABASES[db], client_encoding: encoding, options: `-c standard_conforming_strings=${scs ? 'on' : 'off'} -c escape_string_warning=off` }));
        await c.readUntilReady();
        const tally: Tally = { compared: 0, executed: 0, closed: 0 };
        const runs = 60;
        await fc.assert(
          fc.asyncProperty(textArb(db === 'eucjp' && encoding === 'UTF8' ? 'UTF8@eucjp' : encoding), async (t) => {
            const text = encodeText(t, scs);
            await check(c, queryBytes(text), false, tally);
            if (t.statements.length === 1) await check(c, Buffer.concat([parseBytes('', text), bind('', ''), execute(''), sync()]), true, tally);
          }),
          { numRuns: runs },
        );
        c.end();
        // Not vacuous: many texts ran on the server and were compared with what pgwarden read.
        expect(tally.executed, JSON.stringify(tally)).toBeGreaterThan(runs / 5);
        expect(tally.compared, JSON.stringify(tally)).toBeGreaterThan(runs / 5);
      });
    }
  }
});
