// Reading audit files for replay (plain and gzip, time window, torn lines) and the reads_unrecorded tally.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { scanAuditFiles } from '../../../src/audit/read.js';
import { createReadTally } from '../../../src/audit/read-tally.js';
import { AuditReadError } from '../../../src/audit/verify.js';
import type { AuditEvent } from '../../../src/audit/record.js';

const line = (seq: number, ts: string) => JSON.stringify({ seq, ts, event: 'statement_allowed' });

describe('scanAuditFiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-read-'));

  it('reads plain and gzip files in the order given, skips torn lines and counts them', async () => {
    writeFileSync(join(dir, 'a.jsonl.gz'), gzipSync(`${line(1, '2026-05-01T00:00:00Z')}\n${line(2, '2026-05-02T00:00:00Z')}\n`));
    writeFileSync(join(dir, 'b.jsonl'), `${line(3, '2026-05-03T00:00:00Z')}\n{"seq":4,"ts":"2026-05-0\n${line(5, '2026-05-05T00:00:00Z')}`);
    const seen: [number, string, number][] = [];
    const torn: number[] = [];
    const summary = await scanAuditFiles([join(dir, 'a.jsonl.gz'), join(dir, 'b.jsonl')], (r, w) => seen.push([r.seq as number, basename(w.file), w.line]), { onMalformed: (w) => torn.push(w.line) });
    expect(seen).toEqual([
      [1, 'a.jsonl.gz', 1],
      [2, 'a.jsonl.gz', 2],
      [3, 'b.jsonl', 1],
      [5, 'b.jsonl', 3],
    ]);
    expect(torn).toEqual([2]);
    expect(summary).toEqual({ files: 2, records: 4, malformed: 1, skipped: 0 });
  });

  it('keeps only records inside since/until', async () => {
    writeFileSync(join(dir, 'c.jsonl'), [1, 2, 3, 4].map((d) => line(d, `2026-05-0${d}T00:00:00Z`)).join('\n') + '\n');
    const seen: number[] = [];
    const summary = await scanAuditFiles([join(dir, 'c.jsonl')], (r) => seen.push(r.seq as number), { since: new Date('2026-05-02T00:00:00Z'), until: new Date('2026-05-04T00:00:00Z') });
    expect(seen).toEqual([2, 3]);
    expect(summary.skipped).toBe(2);
  });

  it('a missing file is an AuditReadError naming it', async () => {
    await expect(scanAuditFiles([join(dir, 'nope.jsonl')], () => {})).rejects.toThrow(AuditReadError);
    await expect(scanAuditFiles([join(dir, 'nope.jsonl')], () => {})).rejects.toThrow(/nope\.jsonl: cannot read the audit file \(ENOENT\)/);
  });
});

describe('read tally (reads_unrecorded)', () => {
  afterEach(() => vi.useRealTimers());

  function fakeAudit(decisions: boolean[]) {
    const events: AuditEvent[] = [];
    return {
      events,
      log: { append: (e: AuditEvent) => events.push(e), appendDurable: async () => {}, close: async () => {}, shouldAuditRead: () => decisions.shift() ?? false },
    };
  }

  it('counts the reads the writer leaves out and writes one record per interval, and the rest on close', () => {
    vi.useFakeTimers({ now: new Date('2026-05-01T10:00:00Z') });
    const { events, log } = fakeAudit([true, false, false, true, false]);
    const tally = createReadTally(log, { intervalMs: 1000 });
    expect([1, 2, 3, 4, 5].map(() => tally.shouldAuditRead())).toEqual([true, false, false, true, false]);
    vi.advanceTimersByTime(1000);
    expect(events).toEqual([{ event: 'reads_unrecorded', count: 3, first_at: '2026-05-01T10:00:00.000Z', last_at: '2026-05-01T10:00:00.000Z' }]);
    vi.advanceTimersByTime(5000);
    expect(events).toHaveLength(1); // nothing new, nothing written
    tally.shouldAuditRead();
    vi.advanceTimersByTime(500);
    tally.shouldAuditRead();
    tally.close();
    expect(events[1]).toEqual({ event: 'reads_unrecorded', count: 2, first_at: '2026-05-01T10:00:06.000Z', last_at: '2026-05-01T10:00:06.500Z' });
  });
});

describe('suggestions provider (GET /api/suggestions)', () => {
  it('reuses one computation per window within its ttl, and recomputes when the rules change', async () => {
    const { createSuggestionsProvider } = await import('../../../src/audit/learn.js');
    const { parseRules } = await import('../../../src/policy/load.js');
    const dir = mkdtempSync(join(tmpdir(), 'pgw-provider-'));
    const file = join(dir, 'audit.jsonl');
    const actor = { user: 'agent', application: '', address: '10.0.0.1' };
    const lines: string[] = [];
    for (let i = 0; i < 3; i++) {
      const ts = new Date(Date.now() - 3600_000 + i * 1000).toISOString();
      lines.push(JSON.stringify({ seq: 2 * i + 1, ts, event: 'review_requested', actor, database: 'app', sql: 'TRUNCATE staging', categories: ['ddl'], rule: 'ddl', request_id: `apr_${i}` }));
      lines.push(JSON.stringify({ seq: 2 * i + 2, ts, event: 'denied', request_id: `apr_${i}`, by: 'alice@example.com', reason: 'nightly job only' }));
    }
    writeFileSync(file, `${lines.join('\n')}\n`);
    let rules = parseRules('rules:\n  - id: ddl\n    match: { category: ddl }\n    action: review\n');
    const provider = createSuggestionsProvider({ file, rules: () => rules, maxRows: 10_000 });
    const since = new Date(Date.now() - 7 * 24 * 3600_000);
    const first = await provider.list({ since, minDecisions: 3 });
    expect(await provider.list({ since, minDecisions: 3 })).toBe(first); // the same result object: computed once
    expect(first.suggestions.map((s) => [s.action, s.denied])).toEqual([['deny', 3]]);
    rules = parseRules('rules:\n  - id: no-truncate\n    match: { kind: truncate }\n    action: deny\n');
    const after = await provider.list({ since, minDecisions: 3 });
    expect(after.suggestions).toEqual([]); // the rules in force already refuse the shape
  });
});
