// PostgreSQL as the oracle for client encodings: how the real server converts byte sequences of an encoding, compared
// with pgwarden's decoder (src/proxy/client-encoding.ts). Used by the encoding test and the exception-table generator.
import type pg from 'pg';
import { decodeStatementText } from '../../src/proxy/client-encoding.js';

export interface Disagreement {
  readonly hex: string;
  readonly server: string;
  readonly pgwarden: string;
}

/** Every byte sequence worth comparing for `encoding`: lone high bytes, every lead × trail pair, and the longer forms. */
export function sequencesOf(encoding: string, singleByte = false): Buffer[] {
  const out: Buffer[] = [];
  for (let l = 0x80; l <= 0xff; l++) {
    out.push(Buffer.of(l));
    if (!singleByte) for (let t = 1; t <= 0xff; t++) out.push(Buffer.of(l, t));
  }
  if (encoding === 'EUC_JP') for (let a = 0xa1; a <= 0xfe; a++) for (let b = 0xa1; b <= 0xfe; b++) out.push(Buffer.of(0x8f, a, b));
  if (encoding === 'GB18030') {
    // The BMP part of the four-byte space (0x81308130–0x8431a439) whole, the rest sampled at both ends of each range.
    for (let a = 0x81; a <= 0xfe; a++)
      for (let b = 0x30; b <= 0x39; b++)
        for (let c = 0x81; c <= 0xfe; c++) {
          if (a > 0x84 && c !== 0x81 && c !== 0x82 && c !== 0xa0 && c !== 0xfe) continue;
          for (let d = 0x30; d <= 0x39; d++) if (a <= 0x84 || d === 0x30 || d === 0x35 || d === 0x39) out.push(Buffer.of(a, b, c, d));
        }
  }
  return out;
}

/** The server's reading of each sequence in `encoding` as UTF-8 text, or null where the server rejects it. */
export async function serverReadings(client: pg.Client, encoding: string, sequences: readonly Buffer[]): Promise<(string | null)[]> {
  await client.query(`CREATE OR REPLACE FUNCTION pg_temp.pgw_try_convert(b bytea, enc name) RETURNS bytea LANGUAGE plpgsql AS $$
    BEGIN RETURN convert_to(convert_from(b, enc), 'UTF8'); EXCEPTION WHEN others THEN RETURN NULL; END $$`);
  const out: (string | null)[] = [];
  const batch = 40_000;
  for (let i = 0; i < sequences.length; i += batch) {
    const part = sequences.slice(i, i + batch);
    const { rows } = await client.query<{ u: Buffer | null }>(
      `SELECT pg_temp.pgw_try_convert(decode(h, 'hex'), $2) AS u FROM unnest(string_to_array($1, ',')) WITH ORDINALITY AS t(h, n) ORDER BY n`,
      [part.map((b) => b.toString('hex')).join(','), encoding],
    );
    for (const r of rows) out.push(r.u === null ? null : r.u.toString('utf8'));
  }
  return out;
}

/** Sequences the server accepts and pgwarden decodes, but to a different text. Empty = pgwarden never misreads. */
export async function disagreements(client: pg.Client, encoding: string, sequences = sequencesOf(encoding)): Promise<Disagreement[]> {
  const server = await serverReadings(client, encoding, sequences);
  const out: Disagreement[] = [];
  sequences.forEach((bytes, i) => {
    const s = server[i];
    if (s === null || s === undefined) return; // the server rejects the whole statement: nothing runs
    const mine = decodeStatementText(bytes, encoding, 'UTF8');
    if (mine.ok && mine.text !== s) out.push({ hex: bytes.toString('hex'), server: s, pgwarden: mine.text });
  });
  return out;
}
