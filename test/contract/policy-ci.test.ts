// The shell example of docs/policy-ci.md, run exactly as written (extracted from the page) with the built `pgwarden`
// on PATH, against fixture rules and an audit extract written by the real audit writer: a harmless change passes; a
// change that would deny what an approver approved last week, a failing fixture, or a dead rule fails the pipeline.
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../../src/audit/writer.js';
import { run } from '../helpers/cli.js';

const ROOT = resolve(import.meta.dirname, '../..');
const FIXTURE_RULES = join(ROOT, 'test/fixtures/policy-ci/rules');
let dir: string;
let script: string;
let extract: string;

function shellExample(): string {
  const page = readFileSync(join(ROOT, 'docs/policy-ci.md'), 'utf8');
  const m = /<!-- policy-ci\.sh[^>]*-->\n```sh\n([\s\S]*?)```/.exec(page);
  if (!m) throw new Error('docs/policy-ci.md has no ```sh block after the <!-- policy-ci.sh --> marker');
  return m[1]!;
}

/** A rules folder: the fixture policy with `extraRules` inserted at the top of its rules and `extraCases` added to its fixtures. */
function rulesChange(name: string, extraRules = '', extraCases = ''): string {
  const target = join(dir, name);
  cpSync(FIXTURE_RULES, target, { recursive: true });
  const policy = join(target, 'policy.yaml');
  writeFileSync(policy, readFileSync(policy, 'utf8').replace('rules:\n', `rules:\n${extraRules}`));
  const cases = join(target, 'tests', 'policy.test.yaml');
  writeFileSync(cases, readFileSync(cases, 'utf8') + extraCases);
  return target;
}

const runScript = (rules: string) => run('sh', [script], { env: { PATH: `${join(dir, 'bin')}:${process.env.PATH}`, RULES: rules, AUDIT: extract, NO_COLOR: '1' }, timeoutMs: 60_000, cwd: dir });

beforeAll(async () => {
  expect(existsSync(join(ROOT, 'dist/cli.js')), 'run `npm run build` first').toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'pgw-policy-ci-'));
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin', 'pgwarden'), `#!/bin/sh\nexec "${join(ROOT, 'node_modules/.bin/node')}" "${join(ROOT, 'dist/cli.js')}" "$@"\n`);
  chmodSync(join(dir, 'bin', 'pgwarden'), 0o755);
  script = join(dir, 'policy-check.sh');
  writeFileSync(script, shellExample());

  // Last week's traffic, through the real writer (hash-chained lines), then gzipped as the page's extract is.
  const file = join(dir, 'audit.jsonl');
  const audit = await createAuditLog({ file, redactLiterals: false, reads: 'all', readSampleRate: 1, postgres: null, logger: pino({ level: 'silent' }) });
  const etl = { user: 'agent_etl', application: 'claude', address: '10.0.0.5' };
  audit.append({ event: 'statement_read', actor: etl, database: 'app', sql: 'SELECT * FROM orders WHERE id = 7', categories: ['read'], rule: null, action: 'allow' });
  audit.append({ event: 'review_requested', actor: etl, database: 'app', sql: 'CREATE INDEX ON orders (created_at)', categories: ['ddl'], rule: 'ddl', request_id: 'apr_ci1', approvers: ['alice@example.com', 'bob@example.com'] });
  audit.append({ event: 'approved', actor: etl, database: 'app', sql: 'CREATE INDEX ON orders (created_at)', categories: ['ddl'], rule: 'ddl', request_id: 'apr_ci1', approvers: ['alice@example.com'] });
  audit.append({ event: 'review_requested', actor: etl, database: 'app', sql: 'DROP TABLE orders', categories: ['ddl'], rule: 'ddl', request_id: 'apr_ci2', approvers: ['alice@example.com', 'bob@example.com'] });
  audit.append({ event: 'denied', actor: etl, database: 'app', sql: 'DROP TABLE orders', categories: ['ddl'], rule: 'ddl', request_id: 'apr_ci2', by: 'bob@example.com', reason: 'never' });
  await audit.close();
  extract = join(dir, 'audit-extract.jsonl.gz');
  writeFileSync(extract, gzipSync(readFileSync(file)));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('docs/policy-ci.md shell example', () => {
  it('passes a change that denies only what approvers denied (and says what it changes)', async () => {
    const rules = rulesChange('harmless', '  - id: no-drop\n    match: { kind: drop }\n    action: deny\n    message: drop nothing\n', '  - sql: DROP TABLE orders\n    expect: { action: deny, rule: no-drop }\n');
    const r = await runScript(rules);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('== 1/3 validate');
    expect(r.stdout).toContain('4 passed, 0 failed');
    expect(r.stdout).toContain('review → deny  1 × — was rule ddl, now rule no-drop');
    expect(r.stdout).toContain('ok: no denied-approved');
    expect(r.code).toBe(0);
  });

  it('fails a change that would deny a statement an approver approved last week', async () => {
    const rules = rulesChange('breaking', '  - id: no-index\n    match: { kind: create_index }\n    action: deny\n');
    // The author updated the fixtures too, so only the replay can catch what the change does to real traffic.
    const cases = join(rules, 'tests', 'policy.test.yaml');
    writeFileSync(cases, readFileSync(cases, 'utf8').replace('expect: { action: review, rule: ddl }', 'expect: { action: deny, rule: no-index }'));
    const r = await runScript(rules);
    expect(r.stdout).toContain('3 passed, 0 failed');
    expect(r.stdout).toContain('== 3/3 replay');
    expect(r.stdout).toContain('FAIL: denied-approved (1)');
    expect(r.stdout).toContain('CREATE INDEX ON orders (created_at)');
    expect(r.code).toBe(1);
  });

  it('stops at the fixtures when a case fails, before the replay', async () => {
    const r = await runScript(rulesChange('bad-fixture', '', '  - sql: DROP TABLE orders\n    expect: deny\n'));
    expect(r.stdout).toContain('3 passed, 1 failed');
    expect(r.stdout).not.toContain('== 3/3');
    expect(r.code).toBe(1);
  });

  it('stops at validate --strict when a rule can never match', async () => {
    const r = await runScript(rulesChange('dead-rule', '  - id: all-ddl\n    match: { category: ddl }\n    action: review\n  - id: ddl-on-orders\n    match: { category: ddl, tables: [orders] }\n    action: deny\n'));
    expect(r.stdout).toContain("rule 'ddl-on-orders' can never match");
    expect(r.stdout).not.toContain('== 2/3');
    expect(r.code).toBe(1);
  });
});
