// `pgwarden check` as DESIGN.md promises it, through the built bin: facts + verdict from stdin, exit codes, --json/--jsonl.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/cli.js';

const NODE = 'node_modules/.bin/node';
const check = (args: string[], input: string, env: NodeJS.ProcessEnv = {}) => run(NODE, ['dist/cli.js', 'check', ...args], { input, env: { NO_COLOR: '1', ...env } });
let dir: string;

beforeAll(async () => {
  await run('npm', ['run', '--silent', 'build'], { timeoutMs: 120_000 });
  expect(existsSync('dist/cli.js')).toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'pgwarden-check-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pgwarden check --json', () => {
  it('a data-modifying CTE is a write that names users', async () => {
    const r = await check(['--json'], 'WITH d AS (DELETE FROM users RETURNING *) SELECT * FROM d\n');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.categories).toContain('write');
    expect(out.statements).toHaveLength(1);
    expect(out.statements[0]).toMatchObject({ kind: 'SelectStmt', bounded: false });
    expect(out.statements[0].categories).toContain('write');
    expect(out.statements[0].tables).toContain('users');
    expect(out.verdict).toMatchObject({ action: 'allow', rule: null });
    expect(typeof out.verdict.reason).toBe('string');
  });

  it('GRANT is a grant and the default rules send it to review', async () => {
    const out = JSON.parse((await check(['--json'], 'GRANT ALL ON customers TO agent')).stdout);
    expect(out.categories).toEqual(['grant']);
    expect(out.statements[0]).toMatchObject({ kind: 'GrantStmt', categories: ['grant'], tables: ['customers'] });
    expect(out.verdict).toMatchObject({ action: 'review', rule: 'grants', review: { approvers: ['security@example.com'], quorum: 1 } });
  });

  it('COPY … TO PROGRAM is denied by the rule privileged', async () => {
    const out = JSON.parse((await check(['--json'], "COPY users TO PROGRAM 'curl https://example.com'")).stdout);
    expect(out.verdict).toMatchObject({ action: 'deny', rule: 'privileged' });
  });

  it('snake_case facts, the stated reason and the parse error are included', async () => {
    const out = JSON.parse((await check(['--json'], "/* reason: ticket 42 */ UPDATE users SET email = 'x' WHERE id = 1")).stdout);
    expect(Object.keys(out.statements[0])).toEqual(expect.arrayContaining(['kind', 'categories', 'tables', 'columns', 'columns_written', 'functions', 'bounded', 'limit', 'fingerprint', 'normalized']));
    expect(out.stated_reason).toBe('ticket 42');
    const bad = JSON.parse((await check(['--json'], 'SELEC 1')).stdout);
    expect(bad).toMatchObject({ categories: ['unknown'], verdict: { action: 'review', rule: null } });
    expect(bad.parse_error).toMatch(/syntax error/);
  });

  it('actor flags and --rules (also PGWARDEN_RULES) select the rules that apply', async () => {
    const rules = join(dir, 'agents.yaml');
    writeFileSync(rules, 'rules:\n  - id: no-bob\n    match: { actor: { user: bob, address: [10.0.0.0/8] }, database: prod }\n    action: deny\n    message: bob may not use prod\n');
    const args = ['--json', '--user', 'bob', '--address', '10.1.2.3', '--database', 'prod'];
    expect(JSON.parse((await check(['--rules', rules, ...args], 'SELECT 1')).stdout).verdict).toEqual({ action: 'deny', rule: 'no-bob', reason: 'bob may not use prod', statement_index: 0 });
    expect(JSON.parse((await check(args, 'SELECT 1', { PGWARDEN_RULES: rules })).stdout).verdict.rule).toBe('no-bob');
    expect(JSON.parse((await check(['--rules', rules, '--json', '--user', 'alice', '--database', 'prod'], 'SELECT 1')).stdout).verdict.rule).toBe(null);
  });
});

describe('pgwarden check --jsonl', () => {
  it('one JSON string per line in, one object per line out, in order', async () => {
    const input = ['"SELECT 1"', '"DROP TABLE users"', '', '"COPY users TO PROGRAM \'x\'"'].join('\n');
    const r = await check(['--jsonl'], `${input}\n`);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.verdict.action)).toEqual(['allow', 'review', 'deny']);
    expect(lines[1].statements[0].kind).toBe('DropStmt');
  });

  it('a line that is not a JSON string is reported, keeps its place, and exits 2', async () => {
    const r = await check(['--jsonl'], '"SELECT 1"\nSELECT 2\n"SELECT 3"\n');
    expect(r.code).toBe(2);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines[1].error).toMatch(/^line 2: expected a JSON string/);
    expect(r.stderr).toMatch(/line 2/);
  });
});

describe('pgwarden check: human output and errors', () => {
  it('prints statement, categories, tables, verdict and the deciding rule, without colour off a TTY', async () => {
    const r = await check([], 'DROP TABLE users');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/statement 1: DropStmt {2}\[ddl\]/);
    expect(r.stdout).toMatch(/tables: +users/);
    expect(r.stdout).toMatch(/verdict: REVIEW — rule ddl: category ddl matched/);
    expect(r.stdout).toMatch(/rule: ddl \(.*default\.yaml:\d+\)/);
    expect(r.stdout).not.toMatch(/\x1b\[/);
  });

  it('a bad rule file exits 2 with file:line:col: reason on stderr', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'version: 1\nrules:\n  - id: exports\n    match: { category: [exprt] }\n    action: review\n');
    const r = await check(['--rules', bad, '--json'], 'SELECT 1');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${bad}:4:25: unknown category 'exprt' (did you mean 'export'?) — expected one of read, write, export`);
  });

  it('--json with --jsonl is a usage error (exit 2)', async () => {
    const r = await check(['--json', '--jsonl'], 'SELECT 1');
    expect(r.code).toBe(2);
  });

  it('--help shows examples', async () => {
    const r = await run(NODE, ['dist/cli.js', 'check', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Examples:/);
    expect(r.stdout).toMatch(/--jsonl/);
  });
});
