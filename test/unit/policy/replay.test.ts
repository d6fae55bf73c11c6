// Replay over hand-written audit records (the shapes docs/audit.md specifies): exact counts, outcomes joined by request
// id, fail-on conditions, and the records that cannot be judged again.
import { beforeAll, describe, expect, it } from 'vitest';
import { parseRules } from '../../../src/policy/load.js';
import { createReplay, type ReplayReport } from '../../../src/policy/replay.js';
import { createAnalyzer, loadSqlParser, type Analyzer } from '../../../src/sql/analyze.js';

const OLD = `
defaults: { action: allow, on_unknown: review, review: { approvers: [alice@example.com] } }
rules:
  - id: ddl
    match: { category: ddl }
    action: review
  - id: exports
    match: { category: export }
    action: review
`;
const NEW = `
defaults: { action: allow, on_unknown: review, review: { approvers: [alice@example.com] } }
rules:
  - id: no-drop
    match: { kind: drop }
    action: deny
    message: drops are not allowed any more
  - id: ddl
    match: { category: ddl }
    action: review
  - id: orders-writes
    match: { category: write, tables: [orders] }
    action: review
  - id: exports-etl
    match: { category: export, actor: { user: etl } }
    action: allow
  - id: exports
    match: { category: export }
    action: review
`;

let analyzer: Analyzer;
beforeAll(async () => {
  await loadSqlParser();
  analyzer = createAnalyzer({ maxRows: 1000, cacheEntries: 100 });
});

const agent = { user: 'agent', application: 'claude', address: '10.0.0.5' };
const etl = { user: 'etl', application: '', address: '10.0.0.6' };
let seq = 0;
function rec(fields: Record<string, unknown>): Record<string, unknown> {
  seq += 1;
  return { seq, ts: new Date(Date.UTC(2026, 4, 1, 10, 0, seq)).toISOString(), instance: 'i1', database: 'app', ...fields };
}

function replay(records: Record<string, unknown>[], rules = NEW): ReplayReport {
  const r = createReplay({ ruleSet: parseRules(rules), analyze: (t, s) => analyzer.analyze(t, s) });
  records.forEach((record, i) => r.add(record, { file: 'audit.jsonl', line: i + 1 }));
  return r.finish();
}

describe('replay', { timeout: 30_000 }, () => {
  const log = [
    // Reviewed DROP approved by a human → now denied by no-drop (denied-approved).
    rec({ event: 'review_requested', actor: agent, sql: 'DROP TABLE old_orders', categories: ['ddl'], rule: 'ddl', request_id: 'apr_1' }),
    rec({ event: 'vote', request_id: 'apr_1', by: 'alice@example.com', decision: 'approve' }),
    rec({ event: 'approved', request_id: 'apr_1', approvers: ['alice@example.com'], rule: 'ddl' }),
    // Reviewed DROP denied by a human → now denied by rule (an approval saved, no fail condition).
    rec({ event: 'review_requested', actor: agent, sql: 'DROP TABLE customers', categories: ['ddl'], rule: 'ddl', request_id: 'apr_2' }),
    rec({ event: 'denied', request_id: 'apr_2', by: 'alice@example.com', reason: 'never', rule: 'ddl' }),
    // Allowed write on orders → now reviewed (review-added), twice.
    rec({ event: 'statement_allowed', actor: agent, sql: 'UPDATE orders SET note = 1 WHERE id = 7', categories: ['write'], rule: null, action: 'allow' }),
    rec({ event: 'statement_allowed', actor: agent, sql: 'UPDATE orders SET note = 2 WHERE id = 8', categories: ['write'], rule: null, action: 'allow' }),
    // An export by etl that a human denied → now allowed (allowed-denied).
    rec({ event: 'review_requested', actor: etl, sql: 'COPY orders TO STDOUT', categories: ['export'], rule: 'exports', request_id: 'apr_3' }),
    rec({ event: 'denied', request_id: 'apr_3', by: 'alice@example.com', reason: 'too much', rule: 'exports' }),
    // Unchanged: a read, a reviewed CREATE.
    rec({ event: 'statement_read', actor: agent, sql: 'SELECT 1', categories: ['read'], rule: null, action: 'allow' }),
    rec({ event: 'review_requested', actor: agent, sql: 'CREATE TABLE t (id int)', categories: ['ddl'], rule: 'ddl', request_id: 'apr_4' }),
    rec({ event: 'expired', request_id: 'apr_4', rule: 'ddl' }),
    // Not re-judgeable: capped text, normalized text that lost the literal making it an export, no actor.
    rec({ event: 'statement_allowed', actor: agent, sql: 'UPDATE orders SET note = 3 WHERE', sql_sha256: 'ab'.repeat(32), categories: ['write'], rule: null }),
    rec({ event: 'review_requested', actor: agent, normalized: 'SELECT * FROM orders LIMIT $1', categories: ['export'], rule: 'exports', request_id: 'apr_5' }),
    rec({ event: 'statement_denied', sql: 'DROP TABLE x', categories: ['ddl'], rule: 'ddl', action: 'deny' }),
    rec({ event: 'reads_unrecorded', count: 40, first_at: '2026-05-01T09:00:00Z', last_at: '2026-05-01T09:59:00Z' }),
    rec({ event: 'reads_unrecorded', count: 2, first_at: '2026-05-01T10:00:00Z', last_at: '2026-05-01T10:00:01Z' }),
  ];

  it('reports exactly the changed verdicts with their transitions, rules and human outcomes', () => {
    const r = replay(log);
    expect(r.statements).toBe(10);
    expect(r.rejudged).toBe(7);
    expect(r.unchanged).toBe(2);
    expect(r.changed).toBe(5);
    expect(r.transitions).toEqual({ 'review→deny': 2, 'allow→review': 2, 'review→allow': 1 });
    expect(r.by_rule.map((g) => [g.from, g.to, g.old_rule, g.new_rule, g.count, g.outcomes])).toEqual([
      ['review', 'deny', 'ddl', 'no-drop', 2, { approved: 1, denied: 1 }],
      ['allow', 'review', null, 'orders-writes', 2, { ran: 2 }],
      ['review', 'allow', 'exports', 'exports-etl', 1, { denied: 1 }],
    ]);
    expect(r.approvals).toEqual({ saved: 3, required: 2, saved_outcomes: { approved: 1, denied: 2 } });
    expect(r.fail_on).toEqual({ any: 5, 'denied-approved': 1, 'denied-allowed': 0, 'allowed-denied': 1, 'review-added': 2 });
  });

  it('groups by statement shape: literals do not split a shape', () => {
    const r = replay(log);
    const updates = r.by_fingerprint.find((g) => g.normalized.startsWith('UPDATE orders'));
    expect(updates).toMatchObject({ from: 'allow', to: 'review', count: 2, users: ['agent'], databases: ['app'], normalized: 'UPDATE orders SET note = $1 WHERE id = $2' });
    expect(updates!.examples.map((e) => e.sql)).toEqual(['UPDATE orders SET note = 1 WHERE id = 7', 'UPDATE orders SET note = 2 WHERE id = 8']);
    expect(r.by_fingerprint_total).toBe(4);
  });

  it('counts what it cannot judge again, by reason, and the reads the log does not hold', () => {
    const r = replay(log);
    expect(r.not_rejudgeable).toMatchObject({ total: 3, capped: 1, facts_differ: 1, no_actor: 1, no_text: 0 });
    expect(r.reads).toEqual({ recorded: 1, not_recorded: 42 });
  });

  it('joins an outcome that comes before its request in the files given (rotated files out of order)', () => {
    const outcomeFirst = [
      rec({ event: 'approved', request_id: 'apr_9', approvers: ['alice@example.com'], rule: 'ddl' }),
      rec({ event: 'review_requested', actor: agent, sql: 'DROP TABLE t9', categories: ['ddl'], rule: 'ddl', request_id: 'apr_9' }),
    ];
    expect(replay(outcomeFirst).fail_on['denied-approved']).toBe(1);
  });

  it('the same rules replayed over their own log change nothing', () => {
    const r = replay(log, OLD);
    expect(r.changed).toBe(0);
    expect(r.rule_changed).toBe(0);
    expect(r.unchanged).toBe(7);
  });

  it('counts a deny or review by another rule as a rule change, not an action change', () => {
    const r = replay([rec({ event: 'statement_denied', actor: agent, sql: 'DROP TABLE t', categories: ['ddl'], rule: 'old-no-drop', action: 'deny' })]);
    expect(r).toMatchObject({ changed: 0, rule_changed: 1 });
    expect(r.by_rule[0]).toMatchObject({ from: 'deny', to: 'deny', old_rule: 'old-no-drop', new_rule: 'no-drop' });
  });

  it('replays SQL PREPARE/EXECUTE per connection in log order', () => {
    const prep = [
      rec({ event: 'statement_allowed', actor: agent, sql: 'PREPARE d AS DELETE FROM orders WHERE id = $1', categories: ['write'], rule: null, connection_id: 'c1' }),
      rec({ event: 'statement_allowed', actor: agent, sql: 'EXECUTE d(5)', categories: ['write'], rule: null, connection_id: 'c1' }),
      // Another connection never prepared `d`: its EXECUTE's recorded facts cannot be rebuilt.
      rec({ event: 'statement_allowed', actor: agent, sql: 'EXECUTE d(5)', categories: ['write', 'ddl'], rule: null, connection_id: 'c2' }),
    ];
    const r = replay(prep);
    expect(r.by_rule).toEqual([expect.objectContaining({ from: 'allow', to: 'review', new_rule: 'orders-writes', count: 2 })]);
    expect(r.not_rejudgeable.facts_differ).toBe(1);
  });

  it('a denials_summarized record counts its denials, judged by its sample; records_lost is reported', () => {
    const r = replay([
      rec({ event: 'denials_summarized', actor: agent, sql: 'DROP TABLE t', categories: ['ddl'], rule: 'old-no-drop', reason: 'no', fingerprint: 'f', count: 250, first_at: '2026-05-01T10:00:00Z', last_at: '2026-05-01T10:01:00Z' }),
      rec({ event: 'records_lost', count: 17, first_at: '2026-05-01T10:00:00Z', last_at: '2026-05-01T10:01:00Z' }),
    ], `rules:\n  - id: ddl-review\n    match: { category: ddl }\n    action: review\n`);
    expect(r).toMatchObject({ statements: 250, rejudged: 250, changed: 250, summarized: 250, records_lost: 17, transitions: { 'deny→review': 250 } });
    expect(r.by_rule[0]).toMatchObject({ count: 250, outcomes: { refused: 250 } });
    expect(r.fail_on['review-added']).toBe(0);
  });

  it('a statement refused for want of an audit record counts as allowed by policy and refused', () => {
    const r = replay([rec({ event: 'statement_refused', actor: agent, sql: 'DROP TABLE t', categories: ['ddl'], rule: null })]);
    expect(r.by_rule[0]).toMatchObject({ from: 'allow', to: 'deny', new_rule: 'no-drop', outcomes: { refused: 1 } });
  });

  it('a capped sql falls back to an uncapped normalized text; both capped is not re-judgeable', () => {
    const capped = { sql: 'DROP TABLE t /* …', sql_sha256: 'cd'.repeat(32), sql_bytes: 70000 };
    const r = replay([
      rec({ event: 'statement_allowed', actor: agent, ...capped, normalized: 'DROP TABLE t', categories: ['ddl'], rule: null }),
      rec({ event: 'statement_allowed', actor: agent, ...capped, normalized: 'DROP TABLE t /* …', normalized_sha256: 'ef'.repeat(32), categories: ['ddl'], rule: null }),
    ]);
    expect(r).toMatchObject({ rejudged: 1, changed: 1, not_rejudgeable: { total: 1, capped: 1 } });
  });

  it('evaluates time windows at the recorded time', () => {
    const rules = `rules:\n  - id: night\n    match: { category: write, time: { from: "22:00", to: "06:00" } }\n    action: deny\n`;
    const at = (iso: string) => ({ event: 'statement_allowed', ts: iso, database: 'app', actor: agent, sql: 'DELETE FROM t WHERE id = 1', categories: ['write'], rule: null });
    const r = replay([at('2026-05-01T23:00:00Z'), at('2026-05-01T12:00:00Z')], rules);
    expect(r.transitions).toEqual({ 'allow→deny': 1 });
  });

  it('reports the shadow verdicts the new rules would record', () => {
    const rules = `rules:\n  - id: watch-drops\n    mode: shadow\n    match: { kind: drop }\n    action: deny\n`;
    const r = replay([rec({ event: 'statement_allowed', actor: agent, sql: 'DROP TABLE t', categories: ['ddl'], rule: null })], rules);
    expect(r.changed).toBe(0);
    expect(r.shadow).toEqual({ 'watch-drops:deny': 1 });
  });
});
