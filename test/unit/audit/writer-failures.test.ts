// The audit writer when the file fails (/dev/full answers every write with ENOSPC) and when a crash left a torn line.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditLog } from '../../../src/audit/writer.js';
import { verifyAuditFiles } from '../../../src/audit/verify.js';
import type { AuditEvent } from '../../../src/audit/record.js';
import { createMetrics } from '../../../src/metrics.js';
import { captureLogs } from '../../helpers/log-capture.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pgw-audit-fail-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const actor = { user: 'agent_1', application: 'claude', address: '10.0.0.7' };
const allowed = (n: number): AuditEvent => ({ event: 'statement_allowed', actor, database: 'app', sql: `INSERT INTO t VALUES (${n})`, categories: ['write'], rule: null });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function metric(metrics: ReturnType<typeof createMetrics>, name: string): Promise<string> {
  return (await metrics.registry.getSingleMetricAsString(name)) ?? '';
}

function lines(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('audit writer on a failing file', () => {
  it('counts each failed record once, however often it is retried, and keeps it in the backlog', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const logs = captureLogs();
    const log = await createAuditLog({ file: '/dev/full', redactLiterals: false, reads: 'none', readSampleRate: 0, postgres: null, logger: logs.logger, metrics, retry: { minMs: 10, maxMs: 20 } });
    for (let i = 0; i < 5; i++) log.append(allowed(i));
    await sleep(300); // many retries at 10–20 ms
    expect(await metric(metrics, 'pgwarden_audit_failures_total')).toContain('pgwarden_audit_failures_total{sink="file"} 5');
    expect(log.backlog().records).toBe(5);
    expect(await metric(metrics, 'pgwarden_audit_backlog_bytes')).toMatch(/pgwarden_audit_backlog_bytes [1-9]/);
    // One error line for the outage, not one per attempt.
    expect(logs.records().filter((e) => String(e.msg).startsWith('audit: writing the audit file failed'))).toHaveLength(1);
    await log.close();
  });

  it('rejects a durable append whose write failed and never writes that record later', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const logs = captureLogs();
    const log = await createAuditLog({ file: '/dev/full', redactLiterals: false, reads: 'none', readSampleRate: 0, postgres: null, logger: logs.logger, metrics, retry: { minMs: 10, maxMs: 20 } });
    await expect(log.appendDurable(allowed(1))).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(log.backlog().records).toBe(0);
    // While the file fails, further durable appends fail at once (the statement is refused without waiting).
    await expect(log.appendDurable(allowed(2))).rejects.toThrow(/the audit file is failing \(ENOSPC\)/);
    expect(log.backlog().records).toBe(0);
    await log.close();
  });

  it('bounds the backlog in bytes: past audit.max_backlog records are dropped and counted, not kept', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const logs = captureLogs();
    const log = await createAuditLog({ file: '/dev/full', redactLiterals: false, reads: 'none', readSampleRate: 0, postgres: null, logger: logs.logger, metrics, maxBacklogBytes: 8 * 1024, retry: { minMs: 10, maxMs: 20 } });
    for (let i = 0; i < 200; i++) log.append(allowed(i));
    const { records, bytes } = log.backlog();
    expect(bytes).toBeLessThanOrEqual(8 * 1024);
    expect(records).toBeGreaterThan(0);
    expect(await metric(metrics, 'pgwarden_audit_lost_records_total')).toContain(`pgwarden_audit_lost_records_total{sink="file",reason="backlog_full"} ${200 - records}`);
    await log.close();
  });

  it('on close reports exactly how many records could not be written (error log line and metric)', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const logs = captureLogs();
    const log = await createAuditLog({ file: '/dev/full', redactLiterals: false, reads: 'none', readSampleRate: 0, postgres: null, logger: logs.logger, metrics, retry: { minMs: 10, maxMs: 20 } });
    for (let i = 0; i < 7; i++) log.append(allowed(i));
    await log.close();
    const line = logs.records().find((e) => typeof e.msg === 'string' && e.msg.includes('could not be written to /dev/full at shutdown'));
    expect(line).toMatchObject({ level: 'error', lost_at_shutdown: 7, msg: 'audit: 7 record(s) could not be written to /dev/full at shutdown and are lost' });
    expect(await metric(metrics, 'pgwarden_audit_lost_records_total')).toContain('pgwarden_audit_lost_records_total{sink="file",reason="shutdown"} 7');
  });
});

describe('audit writer at start: a torn last line', () => {
  it('sets the fragment aside, records its SHA-256 and length, and continues the chain from the last whole record', async () => {
    const file = join(dir, 'audit.jsonl');
    const logs = captureLogs();
    const a = await createAuditLog({ file, redactLiterals: false, reads: 'none', readSampleRate: 0, postgres: null, logger: logs.logger, instance: 'a' });
    a.append(allowed(1));
    a.append(allowed(2));
    await a.close();
    const fragment = '{"seq":3,"ts":"2026-01-01T00:00:00.000Z","instance":"a","event":"statement_allo';
    appendFileSync(file, fragment);
    expect(await verifyAuditFiles([file])).toMatchObject({ ok: false, reason: expect.stringMatching(/truncated record/) });

    const b = await createAuditLog({ file, redactLiterals: false, reads: 'none', readSampleRate: 0, postgres: null, logger: logs.logger, instance: 'b' });
    b.append(allowed(3));
    await b.close();
    const records = lines(file);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    const sha = createHash('sha256').update(fragment).digest('hex');
    expect(records[2]).toMatchObject({ event: 'recovered_torn_tail', fragment_sha256: sha, fragment_bytes: fragment.length });
    const side = readdirSync(dir).filter((n) => n.startsWith('audit.jsonl.torn-'));
    expect(side).toHaveLength(1);
    expect(records[2]!.side_file).toBe(join(dir, side[0]!));
    expect(readFileSync(join(dir, side[0]!), 'utf8')).toBe(fragment);
    const verified = await verifyAuditFiles([file]);
    expect(verified).toMatchObject({ ok: true, records: 4, torn_tails: [{ seq: 3, fragment_sha256: sha, fragment_bytes: fragment.length }] });
  });

  it('a file that is nothing but a fragment starts a new chain after setting it aside', async () => {
    const file = join(dir, 'audit.jsonl');
    writeFileSync(file, '{"seq":1,"ts":"2026');
    const log = await createAuditLog({ file, redactLiterals: false, reads: 'none', readSampleRate: 0, postgres: null, logger: captureLogs().logger });
    log.append(allowed(1));
    await log.close();
    expect(lines(file).map((r) => [r.seq, r.event])).toEqual([
      [1, 'recovered_torn_tail'],
      [2, 'statement_allowed'],
    ]);
    expect(await verifyAuditFiles([file])).toMatchObject({ ok: true, records: 2 });
  });
});

describe('audit writer: long texts and floods of denials', () => {
  it('caps a long statement text and records the SHA-256 and length of the whole; the chain verifies', async () => {
    const file = join(dir, 'audit.jsonl');
    const log = await createAuditLog({ file, redactLiterals: false, reads: 'none', readSampleRate: 0, postgres: null, logger: captureLogs().logger, maxSqlBytes: 1024 });
    const sql = `SELECT 1 /* ${'x'.repeat(100_000)} */`;
    log.append({ ...allowed(1), sql });
    await log.close();
    const [record] = lines(file);
    expect((record!.sql as string).length).toBe(1024);
    expect(record).toMatchObject({ sql_bytes: Buffer.byteLength(sql), sql_sha256: createHash('sha256').update(sql).digest('hex') });
    expect(readFileSync(file).length).toBeLessThan(2048);
    expect(await verifyAuditFiles([file])).toMatchObject({ ok: true, records: 1 });
  });

  it('summarises a flood of one denied shape by one actor into a counted record; the chain verifies', async () => {
    const file = join(dir, 'audit.jsonl');
    const log = await createAuditLog({ file, redactLiterals: false, reads: 'none', readSampleRate: 0, postgres: null, logger: captureLogs().logger, deniedFlood: { burst: 2, windowMs: 60_000 } });
    const denied: AuditEvent = { event: 'statement_denied', actor, database: 'app', sql: "SELECT pg_read_file('/etc/passwd')", categories: ['privileged'], rule: 'privileged' };
    for (let i = 0; i < 50; i++) log.append(denied, { shape: 'abc123' });
    await log.close();
    const records = lines(file);
    expect(records.map((r) => r.event)).toEqual(['statement_denied', 'statement_denied', 'denials_summarized']);
    expect(records[2]).toMatchObject({ count: 48, fingerprint: 'abc123', rule: 'privileged', actor });
    expect(await verifyAuditFiles([file])).toMatchObject({ ok: true, records: 3 });
  });
});
