// Suggestions from repeated decisions: which shapes qualify, what the rule pins, and that the fixtures it prints pass
// `rules test` against the rules with the suggestion added.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runFixtures } from '../../../src/policy/fixtures.js';
import { parseRules } from '../../../src/policy/load.js';
import { createSuggester, withRuleFirst, type Suggestion } from '../../../src/policy/rule-suggestions.js';
import { createAnalyzer, loadSqlParser, type Analyzer } from '../../../src/sql/analyze.js';

const RULES = `version: 1
defaults: { action: allow, on_unknown: review, review: { approvers: [alice@example.com, bob@example.com] } }
rules:
  - id: orders-review
    match: { tables: [orders] }
    action: review
  - id: ddl
    match: { category: ddl }
    action: review
`;

let analyzer: Analyzer;
beforeAll(async () => {
  await loadSqlParser();
  analyzer = createAnalyzer({ maxRows: 1000, cacheEntries: 100 });
});

const etl = { user: 'agent_etl', application: 'claude', address: '10.0.0.5' };
let seq = 0;
let requests = 0;
function decided(sql: string, outcome: 'approved' | 'denied', opts: { actor?: typeof etl; by?: string; reason?: string; database?: string } = {}): Record<string, unknown>[] {
  requests += 1;
  const id = `apr_${requests}`;
  const ts = () => new Date(Date.UTC(2026, 4, 4, 9, 0, ++seq)).toISOString();
  const review = { seq, ts: ts(), event: 'review_requested', actor: opts.actor ?? etl, database: opts.database ?? 'app', sql, categories: analyzer.analyze(sql).categories, rule: 'x', request_id: id };
  const by = opts.by ?? 'alice@example.com';
  const end = outcome === 'approved' ? { seq, ts: ts(), event: 'approved', request_id: id, approvers: [by] } : { seq, ts: ts(), event: 'denied', request_id: id, by, reason: opts.reason ?? '' };
  return [review, end];
}

function suggest(records: Record<string, unknown>[], min = 3): { suggestions: Suggestion[]; decisions: number; mixed: number } {
  const s = createSuggester({ ruleSet: parseRules(RULES, 'rules.yaml'), analyze: (t) => analyzer.analyze(t), minDecisions: min });
  for (const r of records) s.add(r);
  return s.finish();
}

describe('rules suggest', { timeout: 30_000 }, () => {
  it('suggests an allow rule for a shape approved N times and never denied, pinned to user, database, kind, tables and seen categories', () => {
    const log = [1, 2, 3].flatMap((i) => decided(`SELECT id, total FROM orders WHERE id = ${i} LIMIT 10`, 'approved', { by: i === 3 ? 'bob@example.com' : 'alice@example.com' }));
    const { suggestions, decisions } = suggest(log);
    expect(decisions).toBe(3);
    expect(suggestions).toHaveLength(1);
    const s = suggestions[0]!;
    expect(s).toMatchObject({ action: 'allow', user: 'agent_etl', application: 'claude', database: 'app', approved: 3, denied: 0, approvers: { 'alice@example.com': 2, 'bob@example.com': 1 }, held_by: ['x'], tables: ['orders'], categories: ['read'] });
    expect(s.place_before).toMatchObject({ rule: 'orders-review', file: 'rules.yaml' });
    const rule = (parse(s.rule_yaml) as Record<string, any>[])[0]!;
    expect(rule.match).toEqual({
      fingerprint: s.fingerprints,
      kind: ['SelectStmt'],
      only_tables: ['orders'],
      actor: { user: 'agent_etl', application: 'claude' },
      database: 'app',
      not: { category: ['write', 'export', 'ddl', 'grant', 'privileged'] },
    });
    expect(rule.action).toBe('allow');
  });

  it('an allow suggestion does not let through a same-fingerprint statement of a category nobody approved (LIMIT above max_rows is an export)', () => {
    const log = [1, 2, 3].flatMap((i) => decided(`SELECT id, total FROM orders WHERE id = ${i} LIMIT 10`, 'approved'));
    const s = suggest(log).suggestions[0]!;
    const combined = withRuleFirst(parseRules(RULES), s.id, s.rule_yaml);
    const session = { database: 'app', inTransactionBlock: false, now: new Date() };
    const bulk = analyzer.analyze('SELECT id, total FROM orders WHERE id = 1 LIMIT 500000');
    expect(bulk.statements[0]!.fingerprint).toBe(s.fingerprints[0]);
    expect(combined.evaluate(bulk, etl, session)).toMatchObject({ action: 'review', rule: 'orders-review' });
    expect(combined.evaluate(analyzer.analyze('SELECT id, total FROM orders WHERE id = 77 LIMIT 5'), etl, session)).toMatchObject({ action: 'allow', rule: s.id });
    expect(combined.evaluate(analyzer.analyze('SELECT id, total FROM orders WHERE id = 77 LIMIT 5'), { ...etl, user: 'agent_other' }, session).action).toBe('review');
    expect(combined.evaluate(analyzer.analyze('SELECT id, total FROM orders WHERE id = 77 LIMIT 5'), etl, { ...session, database: 'prod' }).action).toBe('review');
  });

  it('suggests a deny rule with the most common denial reason for a shape denied N times and never approved', () => {
    const log = [
      ...decided('DROP TABLE staging', 'denied', { reason: 'archive it first' }),
      ...decided('DROP TABLE staging', 'denied', { reason: 'archive it first', by: 'bob@example.com' }),
      ...decided('DROP TABLE staging', 'denied', { reason: 'no' }),
    ];
    const [s] = suggest(log).suggestions;
    expect(s).toMatchObject({ action: 'deny', denied: 3, reasons: { 'archive it first': 2, no: 1 } });
    expect((parse(s!.rule_yaml) as Record<string, any>[])[0]).toMatchObject({ action: 'deny', message: 'archive it first', match: { actor: { user: 'agent_etl', application: 'claude' }, database: 'app' } });
  });

  it('suggests nothing for fewer than N decisions, for mixed decisions, or across users and databases', () => {
    expect(suggest([...decided('DROP TABLE a', 'denied'), ...decided('DROP TABLE a', 'denied')]).suggestions).toEqual([]);
    const mixed = suggest([...decided('DROP TABLE b', 'denied'), ...decided('DROP TABLE b', 'denied'), ...decided('DROP TABLE b', 'denied'), ...decided('DROP TABLE b', 'approved')]);
    expect(mixed).toMatchObject({ suggestions: [], mixed: 1 });
    const spread = suggest([...decided('DROP TABLE c', 'denied'), ...decided('DROP TABLE c', 'denied', { database: 'other' }), ...decided('DROP TABLE c', 'denied', { actor: { ...etl, user: 'agent_2' } })]);
    expect(spread.suggestions).toEqual([]);
    expect(suggest([...decided('DROP TABLE a', 'denied'), ...decided('DROP TABLE a', 'denied')], 2).suggestions).toHaveLength(1);
  });

  it('the printed fixtures pass `rules test` against the rules with the suggestion added', () => {
    const log = [
      ...[1, 2, 3, 4].flatMap((i) => decided(`ALTER TABLE orders ALTER COLUMN note SET DEFAULT 'v${i}'`, 'approved')),
      ...[1, 2, 3].flatMap(() => decided('DROP TABLE staging', 'denied', { reason: 'archive it first' })),
    ];
    const { suggestions } = suggest(log);
    expect(suggestions.map((s) => s.action).sort()).toEqual(['allow', 'deny']);
    const dir = mkdtempSync(join(tmpdir(), 'pgw-suggest-'));
    mkdirSync(join(dir, 'tests'));
    const adopted = RULES.replace('rules:\n', `rules:\n${suggestions.map((s) => s.rule_yaml.replace(/^(?=.)/gm, '  ')).join('')}`);
    writeFileSync(join(dir, 'rules.yaml'), adopted);
    for (const s of suggestions) writeFileSync(join(dir, 'tests', `${s.id}.test.yaml`), s.fixtures_yaml);
    const run = runFixtures(join(dir, 'rules.yaml'), () => (t) => analyzer.analyze(t), suggestions.map((s) => join(dir, 'tests', `${s.id}.test.yaml`)));
    expect(run.failures.map((f) => `${f.testCase.name}: ${f.actual}`)).toEqual([]);
    // 4 distinct approved texts + 1 negative case, 1 distinct denied text + 1 negative case.
    expect(run.passed).toBe(7);
  });

  it('the fixtures fail when the suggested rule is not adopted (they test the rule, not the old policy)', () => {
    const log = [1, 2, 3].flatMap((i) => decided(`ALTER TABLE orders ALTER COLUMN note SET DEFAULT 'w${i}'`, 'approved'));
    const [s] = suggest(log).suggestions;
    const dir = mkdtempSync(join(tmpdir(), 'pgw-suggest-'));
    writeFileSync(join(dir, 'rules.yaml'), RULES);
    writeFileSync(join(dir, 'f.test.yaml'), s!.fixtures_yaml);
    const run = runFixtures(join(dir, 'rules.yaml'), () => (t) => analyzer.analyze(t), [join(dir, 'f.test.yaml')]);
    expect(run.failures).toHaveLength(3);
  });
});

describe('learned rules name their actor exactly', () => {
  it('a role name with glob characters matches only that role', () => {
    const odd = { user: 'agent*', application: 'app[1]', address: '10.0.0.9' };
    const log = [1, 2, 3].flatMap((i) => decided(`SELECT id FROM orders WHERE id = ${i}`, 'approved', { actor: odd }));
    const [s] = suggest(log).suggestions;
    const combined = withRuleFirst(parseRules(RULES), s!.id, s!.rule_yaml);
    const session = { database: 'app', inTransactionBlock: false, now: new Date() };
    const q = analyzer.analyze('SELECT id FROM orders WHERE id = 9');
    expect(combined.evaluate(q, odd, session)).toMatchObject({ action: 'allow', rule: s!.id });
    expect(combined.evaluate(q, { ...odd, user: 'agent_7' }, session).rule).toBe('orders-review');
    expect(combined.evaluate(q, { ...odd, application: 'app1' }, session).rule).toBe('orders-review');
  });
});
