import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditLog } from '../../../src/audit/writer.js';
import { AuditReadError, verifyAuditFiles } from '../../../src/audit/verify.js';
import { hashRecord } from '../../../src/audit/chain.js';
import { serializeRecord } from '../../../src/audit/record.js';
import { silentLogger } from '../../../src/log.js';

let dir: string;
let good: string[]; // the lines of a real log written by the writer

beforeAll(async () => {
  const d = mkdtempSync(join(tmpdir(), 'pgw-verify-src-'));
  const file = join(d, 'audit.jsonl');
  const log = await createAuditLog({ file, redactLiterals: false, reads: 'none', readSampleRate: 0, postgres: null, logger: silentLogger, instance: 'v' });
  for (let i = 0; i < 6; i++) log.append({ event: 'statement_denied', sql: `DROP TABLE t${i}`, categories: ['ddl'], rule: 'no-ddl', reason: 'no' });
  await log.close();
  good = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  rmSync(d, { recursive: true, force: true });
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pgw-verify-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, lines: string[], trailingNewline = true): string {
  const file = join(dir, name);
  writeFileSync(file, lines.join('\n') + (trailingNewline && lines.length ? '\n' : ''));
  return file;
}

describe('verifyAuditFiles', () => {
  it('passes an intact log and reports the records and the last hash (the next anchor)', async () => {
    const result = await verifyAuditFiles([write('a', good)]);
    expect(result).toEqual({ ok: true, records: 6, first_seq: 1, last_seq: 6, last_hash: (JSON.parse(good[5]!) as { hash: string }).hash });
  });

  it('passes an empty file', async () => {
    expect(await verifyAuditFiles([write('a', [])])).toEqual({ ok: true, records: 0 });
  });

  it('fails on an edited record, naming its line and seq', async () => {
    const lines = [...good];
    lines[2] = lines[2]!.replace('DROP TABLE t2', 'DROP TABLE t9');
    expect(await verifyAuditFiles([write('a', lines)])).toMatchObject({ ok: false, line: 3, seq: 3, reason: expect.stringMatching(/hash does not match/) });
  });

  it('fails on an edited record whose own hash was recomputed (the next record no longer links)', async () => {
    const lines = [...good];
    const rec = JSON.parse(lines[2]!) as Record<string, unknown>;
    rec.reason = 'approved by alice';
    rec.hash = hashRecord(rec);
    lines[2] = serializeRecord(rec);
    expect(await verifyAuditFiles([write('a', lines)])).toMatchObject({ ok: false, line: 4, seq: 4, reason: expect.stringMatching(/prev does not match/) });
  });

  it('fails on a record edited only in formatting', async () => {
    const lines = [...good];
    lines[1] = lines[1]!.replace('{"seq":2,', '{"seq": 2,');
    expect(await verifyAuditFiles([write('a', lines)])).toMatchObject({ ok: false, line: 2, reason: expect.stringMatching(/canonical/) });
  });

  it('fails on a deleted record', async () => {
    const lines = good.filter((_, i) => i !== 3);
    expect(await verifyAuditFiles([write('a', lines)])).toMatchObject({ ok: false, line: 4, seq: 5, reason: expect.stringMatching(/1 record\(s\) missing.*expected seq 4/) });
  });

  it('fails on reordered records', async () => {
    const lines = [good[0]!, good[2]!, good[1]!, ...good.slice(3)];
    expect(await verifyAuditFiles([write('a', lines)])).toMatchObject({ ok: false, line: 2, seq: 3 });
  });

  it('fails on a duplicated record', async () => {
    const lines = [...good.slice(0, 3), good[2]!, ...good.slice(3)];
    expect(await verifyAuditFiles([write('a', lines)])).toMatchObject({ ok: false, line: 4, reason: expect.stringMatching(/out of order/) });
  });

  it('fails on a truncated last record', async () => {
    const lines = [...good.slice(0, 5), good[5]!.slice(0, 40)];
    expect(await verifyAuditFiles([write('a', lines, false)])).toMatchObject({ ok: false, line: 6, reason: expect.stringMatching(/truncated/) });
  });

  it('fails when a chain starting at seq 1 does not start from the genesis hash', async () => {
    const rec = JSON.parse(good[0]!) as Record<string, unknown>;
    rec.prev = 'a'.repeat(64);
    rec.hash = hashRecord(rec);
    expect(await verifyAuditFiles([write('a', [serializeRecord(rec)])])).toMatchObject({ ok: false, line: 1, reason: expect.stringMatching(/genesis|000/) });
  });

  it('cannot see records deleted from the end without an anchor, and catches it with one', async () => {
    const anchor = (JSON.parse(good[5]!) as { hash: string }).hash;
    const cut = write('a', good.slice(0, 4));
    expect(await verifyAuditFiles([cut])).toMatchObject({ ok: true, records: 4 });
    expect(await verifyAuditFiles([cut], { anchor })).toMatchObject({ ok: false, reason: expect.stringMatching(/anchor .* is not in the chain/) });
    expect(await verifyAuditFiles([write('b', good)], { anchor })).toMatchObject({ ok: true, records: 6 });
  });

  it('checks rotated files as one chain, in the order given', async () => {
    const older = write('audit.jsonl.1', good.slice(0, 3));
    const newer = write('audit.jsonl', good.slice(3));
    expect(await verifyAuditFiles([older, newer])).toMatchObject({ ok: true, records: 6 });
    expect(await verifyAuditFiles([newer])).toMatchObject({ ok: true, records: 3, first_seq: 4 });
    expect(await verifyAuditFiles([newer, older])).toMatchObject({ ok: false, file: older, line: 1, reason: expect.stringMatching(/out of order/) });
  });

  it('fails when a whole rotated file is missing from the middle', async () => {
    const a = write('a', good.slice(0, 2));
    const c = write('c', good.slice(4));
    expect(await verifyAuditFiles([a, c])).toMatchObject({ ok: false, file: c, line: 1, reason: expect.stringMatching(/2 record\(s\) missing/) });
  });

  it('throws AuditReadError for a file that cannot be read', async () => {
    await expect(verifyAuditFiles([join(dir, 'missing.jsonl')])).rejects.toBeInstanceOf(AuditReadError);
  });
});
