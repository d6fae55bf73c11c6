// pgwarden's decoders (src/proxy/client-encoding.ts: PostgreSQL's character boundaries, the platform's character
// values, the exception tables) against the real server's conversions, for every byte sequence that matters: no
// character may read differently. Where they would, pgwarden refuses the text (22021) — the server runs nothing then.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { pgUrl } from '../helpers/env.js';
import { disagreements, sequencesOf } from '../helpers/encoding-oracle.js';
import { DECODED_ENCODINGS, decodeStatementText } from '../../src/proxy/client-encoding.js';

let client: pg.Client;
beforeAll(async () => {
  client = new pg.Client(pgUrl());
  await client.connect();
});
afterAll(async () => {
  await client.end();
});

const MULTIBYTE = ['SJIS', 'BIG5', 'GBK', 'UHC', 'GB18030', 'EUC_JP', 'EUC_KR', 'EUC_CN'];

describe('every character pgwarden decodes reads as PostgreSQL 15 reads it', () => {
  for (const encoding of MULTIBYTE) {
    it(`${encoding}: all one- and two-byte sequences${encoding === 'EUC_JP' ? ', every JIS X 0212 character' : ''}${encoding === 'GB18030' ? ', the four-byte BMP range and samples beyond' : ''}`, async () => {
      expect(await disagreements(client, encoding)).toEqual([]);
    });
  }

  it('every single-byte encoding, all 128 high bytes', async () => {
    const single = DECODED_ENCODINGS.filter((e) => e !== 'UTF8' && !MULTIBYTE.includes(e));
    expect(single.length).toBeGreaterThanOrEqual(27);
    for (const encoding of single) expect(await disagreements(client, encoding, sequencesOf(encoding, true)), encoding).toEqual([]);
  });

  it('the characters pgwarden can read are most of what the server accepts (the refusals are the few that differ)', async () => {
    // A decoder that refused everything would pass the tests above; this one must not.
    const sjis = sequencesOf('SJIS').filter((b) => b.length === 2 && b[0]! >= 0x81);
    const read = sjis.filter((b) => decodeStatementText(b, 'SJIS', 'UTF8').ok).length;
    expect(read).toBeGreaterThan(19_000);
  });
});
