import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, renameSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditLog } from '../../../src/audit/writer.js';
import { verifyAuditFiles } from '../../../src/audit/verify.js';
import { GENESIS_HASH } from '../../../src/audit/chain.js';
import { serializeRecord, type AuditEvent } from '../../../src/audit/record.js';
import { createMetrics } from '../../../src/metrics.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { TEST_SECRETS } from '../../helpers/secrets.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pgw-audit-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const actor = { user: 'agent_1', application: 'claude', address: '10.0.0.7' };
const denied: AuditEvent = { event: 'statement_denied', actor, database: 'app', sql: 'DROP TABLE users', categories: ['ddl'], rule: 'no-ddl', reason: 'no DDL' };

function open(file: string | null, extra: Partial<Parameters<typeof createAuditLog>[0]> = {}) {
  const logs = captureLogs();
  return createAuditLog({ file, redactLiterals: false, reads: 'none', readSampleRate: 0, postgres: null, logger: logs.logger, instance: 'test-1', ...extra });
}

function lines(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('audit writer', () => {
  it('writes one canonical, chained JSON line per event', async () => {
    const file = join(dir, 'audit.jsonl');
    const metrics = createMetrics({ processMetrics: false });
    const log = await open(file, { metrics });
    log.append(denied);
    log.append({ event: 'review_requested', actor, sql: 'GRANT ALL ON t TO bob', categories: ['grant'], rule: 'grants', request_id: 'r1', approvers: ['security'] });
    await log.close();
    const text = readFileSync(file, 'utf8');
    const raw = text.split('\n').filter(Boolean);
    expect(raw).toHaveLength(2);
    for (const line of raw) expect(serializeRecord(JSON.parse(line) as object)).toBe(line);
    const [first, second] = lines(file);
    expect(first).toMatchObject({ seq: 1, instance: 'test-1', event: 'statement_denied', actor, database: 'app', sql: 'DROP TABLE users', rule: 'no-ddl', prev: GENESIS_HASH });
    expect(second).toMatchObject({ seq: 2, prev: first!.hash, request_id: 'r1' });
    expect(Object.keys(first!).slice(0, 4)).toEqual(['seq', 'ts', 'instance', 'event']);
    expect(await verifyAuditFiles([file])).toMatchObject({ ok: true, records: 2 });
    expect((await metrics.registry.getSingleMetricAsString('pgwarden_audit_records_total'))).toContain('pgwarden_audit_records_total{sink="file"} 2');
  });

  it('writes exactly the canonical line (serializeRecord) for any record content', async () => {
    const file = join(dir, 'audit.jsonl');
    const logs = captureLogs();
    const log = await createAuditLog({ file, redactLiterals: false, reads: 'none', readSampleRate: 0, postgres: null, logger: logs.logger, instance: 'i' });
    const text = fc.string({ unit: 'binary' });
    await fc.assert(
      fc.asyncProperty(fc.record({ sql: text, reason: text, database: text, by: text, approvers: fc.array(text) }), async (fields) => {
        await log.appendDurable({ event: 'vote', ...fields });
      }),
      { numRuns: 60 },
    );
    await log.close();
    expect(logs.text()).not.toContain('differently from the canonical form');
    expect(await verifyAuditFiles([file])).toMatchObject({ ok: true, records: 60 });
  });

  it('resumes the chain after a restart from the last record of the file', async () => {
    const file = join(dir, 'audit.jsonl');
    const a = await open(file);
    a.append(denied);
    a.append(denied);
    await a.close();
    const b = await open(file);
    b.append(denied);
    await b.close();
    expect(lines(file).map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(await verifyAuditFiles([file])).toMatchObject({ ok: true, records: 3, first_seq: 1, last_seq: 3 });
  });

  it('continues the chain across rotation by reopen (rename, then SIGHUP-style reopen)', async () => {
    const file = join(dir, 'audit.jsonl');
    const log = await open(file);
    log.append(denied);
    log.append(denied);
    await log.flush();
    renameSync(file, `${file}.1`);
    await log.reopen();
    log.append(denied);
    await log.close();
    const [rotatedFirst] = lines(`${file}.1`).slice(-1);
    expect(lines(file)[0]).toMatchObject({ seq: 3, prev: rotatedFirst!.hash });
    expect(await verifyAuditFiles([`${file}.1`, file])).toMatchObject({ ok: true, records: 3 });
    const alone = await verifyAuditFiles([file]);
    expect(alone).toMatchObject({ ok: true, records: 1, first_seq: 3 });
    expect(await verifyAuditFiles([file, `${file}.1`])).toMatchObject({ ok: false });
  });

  it('continues the chain when restarted after the file was rotated away (head file beside it)', async () => {
    const file = join(dir, 'audit.jsonl');
    const a = await open(file);
    a.append(denied);
    await a.close();
    renameSync(file, `${file}.1`);
    const b = await open(file);
    b.append(denied);
    await b.close();
    expect(existsSync(`${file}.head`)).toBe(true);
    expect(await verifyAuditFiles([`${file}.1`, file])).toMatchObject({ ok: true, records: 2 });
  });

  it('stores normalized text instead of the statement when redact_literals is on', async () => {
    const file = join(dir, 'audit.jsonl');
    const log = await open(file, { redactLiterals: true });
    log.append({ ...denied, sql: "DELETE FROM users WHERE email = 'ann@example.com'", normalized: 'DELETE FROM users WHERE email = $1' });
    log.append({ ...denied, sql: "UPDATE t SET card = '4111111111111111' WHERE id = 7" });
    await log.close();
    const [a, b] = lines(file);
    expect(a).not.toHaveProperty('sql');
    expect(a!.normalized).toBe('DELETE FROM users WHERE email = $1');
    expect(b!.normalized).toBe('UPDATE t SET card = $1 WHERE id = $2');
    expect(readFileSync(file, 'utf8')).not.toContain('ann@example.com');
    expect(readFileSync(file, 'utf8')).not.toContain('4111');
  });

  it('never stores a password that appears in a statement or a reason', async () => {
    const file = join(dir, 'audit.jsonl');
    const log = await open(file);
    log.append({ ...denied, sql: `ALTER ROLE app PASSWORD '${TEST_SECRETS.pgPassword}'` });
    log.append({ ...denied, reason: `see postgres://admin:${TEST_SECRETS.pgPassword}@db/x` });
    await log.close();
    expect(readFileSync(file, 'utf8')).not.toContain(TEST_SECRETS.pgPassword);
  });

  it('appendDurable resolves only once the record is in the file', async () => {
    const file = join(dir, 'audit.jsonl');
    const log = await open(file, { fsync: true });
    await log.appendDurable(denied);
    expect(lines(file)).toHaveLength(1);
    await log.close();
  });

  it('appendDurable rejects when the file cannot be written (strict mode turns this into AuditUnavailable)', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const log = await open('/dev/full', { metrics });
    await expect(log.appendDurable(denied)).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(await metrics.registry.getSingleMetricAsString('pgwarden_audit_failures_total')).toMatch(/sink="file"} [1-9]/);
    await log.close().catch(() => undefined);
  });

  it('refuses to start when the audit file cannot be opened, naming the file and the fix', async () => {
    await expect(open('/dev/null/audit/audit.jsonl')).rejects.toThrow(/audit\.file \/dev\/null\/audit\/audit\.jsonl cannot be opened for writing \(ENOTDIR\).*permissions/);
  });

  it('with file null and no Postgres sink writes nowhere and appendDurable resolves', async () => {
    const log = await open(null);
    await log.appendDurable(denied);
    expect(log.head().seq).toBe(1);
    await log.close();
  });

  it('audits reads as configured: none, all, or a sample', async () => {
    const none = await open(null, { reads: 'none' });
    const all = await open(null, { reads: 'all' });
    const values = [0.001, 0.5, 0.009, 0.9];
    const sample = await open(null, { reads: 'sample', readSampleRate: 0.01, random: () => values.shift()! });
    expect(none.shouldAuditRead()).toBe(false);
    expect(all.shouldAuditRead()).toBe(true);
    expect([sample.shouldAuditRead(), sample.shouldAuditRead(), sample.shouldAuditRead(), sample.shouldAuditRead()]).toEqual([true, false, true, false]);
  });
});
