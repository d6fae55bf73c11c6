// `pgwarden rules test|validate` through the built bin: exit 0 all pass, 1 a case fails, 2 invalid rules.
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/cli.js';

const NODE = 'node_modules/.bin/node';
const rules = (args: string[], env: NodeJS.ProcessEnv = {}) => run(NODE, ['dist/cli.js', 'rules', ...args], { env: { NO_COLOR: '1', ...env } });
let dir: string;

beforeAll(async () => {
  await run('npm', ['run', '--silent', 'build'], { timeoutMs: 120_000 });
  expect(existsSync('dist/cli.js')).toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'pgwarden-rules-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pgwarden rules test', () => {
  it('runs the shipped fixtures green', async () => {
    const r = await rules(['test', 'rules', 'rules/examples/analytics-agent', 'rules/examples/migration-bot', 'rules/examples/support-copilot']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^\d+ passed, 0 failed\n$/);
    expect(r.code).toBe(0);
  });

  it('defaults to PGWARDEN_RULES', async () => {
    const r = await rules(['test'], { PGWARDEN_RULES: 'rules/examples/migration-bot' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^12 passed, 0 failed/);
  });

  it('prints each failure with expected vs actual and exits 1', async () => {
    const policy = join(dir, 'failing');
    mkdirSync(join(policy, 'tests'), { recursive: true });
    cpSync('rules/default.yaml', join(policy, 'default.yaml'));
    writeFileSync(join(policy, 'tests', 'wrong.test.yaml'), 'cases:\n  - name: drop passes (wrong on purpose)\n    sql: DROP TABLE users\n    expect: { action: allow, rule: null }\n  - sql: SELECT 1\n    expect: allow\n');
    const r = await rules(['test', policy]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`FAIL ${policy}/tests/wrong.test.yaml:2:5: drop passes (wrong on purpose)`);
    expect(r.stdout).toContain('expected: allow (rule none: defaults)');
    expect(r.stdout).toContain('actual:   review (rule ddl): rule ddl: category ddl matched');
    expect(r.stdout).toMatch(/1 passed, 1 failed/);
  });

  it('a path without fixtures fails (nothing was tested)', async () => {
    const policy = join(dir, 'untested.yaml');
    writeFileSync(policy, 'defaults: { action: allow }\nrules: []\n');
    const r = await rules(['test', policy]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/NO FIXTURES/);
  });

  it('invalid rules exit 2 with file:line:col', async () => {
    const r = await rules(['test', 'test/fixtures/rules/invalid/bad-category.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('test/fixtures/rules/invalid/bad-category.yaml:5:24: unknown category');
  });

  it('an invalid fixture file exits 2 with its position', async () => {
    const policy = join(dir, 'badfixture');
    mkdirSync(join(policy, 'tests'), { recursive: true });
    writeFileSync(join(policy, 'p.yaml'), 'defaults: { action: allow }\nrules: []\n');
    writeFileSync(join(policy, 'tests', 'p.test.yaml'), 'cases:\n  - sql: SELECT 1\n    expect: { action: permit }\n');
    const r = await rules(['test', policy]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${policy}/tests/p.test.yaml:3:23: expected action 'permit' is not one of allow, deny, review`);
  });
});

describe('pgwarden rules validate', () => {
  it('summarises valid rules and prints warnings; --strict turns warnings into exit 1', async () => {
    const ok = await rules(['validate', 'rules']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ok rules: 1 file\(s\), 4 rule\(s\)/);
    const warned = await rules(['validate', 'test/fixtures/rules/valid/folder']);
    expect(warned.code).toBe(0);
    expect(warned.stdout).toMatch(/warning: .*rule 'ddl-tables' can never match/);
    expect((await rules(['validate', '--strict', 'test/fixtures/rules/valid/folder'])).code).toBe(1);
  });

  it('invalid rules exit 2', async () => {
    const r = await rules(['validate', 'test/fixtures/rules/invalid/unknown-key.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown-key.yaml:5:7: unknown key 'tabels' in match (did you mean 'tables'?)");
  });

  it('an empty or truncated rule file exits 2 with a clear error, never "ok … 0 rule(s)"', async () => {
    const empty = join(dir, 'empty.yaml');
    writeFileSync(empty, '');
    const r = await rules(['validate', empty]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`pgwarden: ${empty}:1:1: the rule file is empty`);
    const cut = join(dir, 'cut.yaml');
    writeFileSync(cut, 'version: 1\ndefaults: { action: allow, on_unknown: review }\nrul');
    const c = await rules(['validate', cut]);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/cut\.yaml:\d+:\d+: /);
    const explicit = join(dir, 'explicit-empty.yaml');
    writeFileSync(explicit, 'defaults: { action: deny }\nrules: []\n');
    const e = await rules(['validate', explicit]);
    expect(e.code).toBe(0);
    expect(e.stdout).toMatch(/0 rule\(s\).*defaults: deny/);
  });
});
