// `pgwarden rules replay` over an audit log written by a real session through the proxy (real PostgreSQL, Redis store,
// approvals decided over the HTTP API): reads, a write, a refused privileged call, DDL approved and denied, exports
// approved and denied. A modified rule set must report exactly the verdicts that change — no more, no fewer.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide, startTestApp, TEST_RULES, TOKENS, waitForPending, type TestApp } from '../../helpers/app.js';
import { run } from '../../helpers/cli.js';
import { pgUrl, redisUrl, urlFor } from '../../helpers/env.js';

const NODE = 'node_modules/.bin/node';
const cli = (args: string[]) => run(NODE, ['dist/cli.js', 'rules', ...args], { env: { NO_COLOR: '1' }, timeoutMs: 60_000 });

/** TEST_RULES with four changes: drops denied, COPY … TO STDOUT allowed, writes on learn_orders reviewed, learn_new refused. */
const NEW_RULES = TEST_RULES.replace(
  'rules:\n',
  `rules:
  - id: no-drops
    match: { kind: drop }
    action: deny
    message: drops are off
  - id: copy-out-ok
    match: { kind: copy, category: export }
    action: allow
  - id: orders-writes
    match: { category: write, tables: [learn_orders] }
    action: review
  - id: no-learn-new
    match: { tables: [learn_new] }
    action: deny
`,
);

let admin: pg.Client;
let auditFile: string;
let quietAuditFile: string;
let dir: string;

async function held(app: TestApp, sql: string, decision: 'approve' | 'deny', by: keyof typeof TOKENS, reason = ''): Promise<unknown> {
  const c = new pg.Client(urlFor(app.port, { application: 'replay-agent' }));
  c.on('notice', () => {});
  c.on('error', () => {});
  await c.connect();
  const result = c.query(sql).then(
    (r) => r,
    (e: unknown) => e,
  );
  const req = await waitForPending(app.api, (r) => r.sql === sql);
  expect((await decide(app.api, req.id, TOKENS[by], decision, reason)).status).toBe(200);
  const out = await result;
  await c.end();
  return out;
}

beforeAll(async () => {
  expect(existsSync('dist/cli.js'), 'run `npm run build` first').toBe(true);
  admin = new pg.Client(pgUrl());
  await admin.connect();
  await admin.query('DROP TABLE IF EXISTS learn_orders, learn_archive, learn_new');
  await admin.query("CREATE TABLE learn_orders (id int PRIMARY KEY, note text); INSERT INTO learn_orders SELECT g, 'n' || g FROM generate_series(1, 20) g; CREATE TABLE learn_archive (id int)");
  dir = mkdtempSync(join(tmpdir(), 'pgw-replay-'));

  const app = await startTestApp({ redis: redisUrl(), redisPrefix: `pgw-replay-${randomBytes(4).toString('hex')}:`, overrides: { 'audit.reads': 'all' } });
  auditFile = app.auditFile;
  try {
    const c = new pg.Client(urlFor(app.port, { application: 'replay-agent' }));
    c.on('notice', () => {});
    await c.connect();
    await c.query('SELECT count(*) FROM learn_orders');
    await c.query('SELECT note FROM learn_orders WHERE id = 1');
    await c.query("INSERT INTO learn_orders VALUES (100, 'x')");
    const refused = (await c.query("SELECT pg_read_file('/etc/hostname')").catch((e: unknown) => e)) as pg.DatabaseError;
    expect(refused.code).toBe('42501');
    await c.end();

    await held(app, 'CREATE TABLE learn_new (id int)', 'approve', 'alice@example.com');
    expect(((await held(app, 'DROP TABLE learn_archive', 'deny', 'bob@example.com', 'keep the archive')) as pg.DatabaseError).code).toBe('42501');
    // COPY … TO STDOUT through psql (a real client that speaks the COPY protocol), approved while psql waits.
    const copy = run('psql', ['-X', '-q', '-c', 'COPY learn_orders TO STDOUT', urlFor(app.port, { application: 'replay-agent' })]);
    const req = await waitForPending(app.api, (r) => r.sql === 'COPY learn_orders TO STDOUT');
    expect((await decide(app.api, req.id, TOKENS['alice@example.com'], 'approve')).status).toBe(200);
    expect((await copy).stdout.split('\n').filter(Boolean)).toHaveLength(21);
    expect(((await held(app, 'SELECT * FROM learn_orders LIMIT 50000', 'deny', 'alice@example.com', 'too much')) as pg.DatabaseError).code).toBe('42501');
  } finally {
    await app.close();
  }

  // A second instance with the default audit.reads (none): its reads are counted, not recorded.
  const quiet = await startTestApp();
  quietAuditFile = quiet.auditFile;
  try {
    const c = new pg.Client(urlFor(quiet.port));
    await c.connect();
    for (let i = 0; i < 3; i++) await c.query('SELECT count(*) FROM learn_orders');
    await c.query("INSERT INTO learn_orders VALUES (200, 'y')");
    await c.end();
  } finally {
    await quiet.close();
  }
  writeFileSync(join(dir, 'new-rules.yaml'), NEW_RULES);
  writeFileSync(join(dir, 'old-rules.yaml'), TEST_RULES);
});

afterAll(async () => {
  await admin.query('DROP TABLE IF EXISTS learn_orders, learn_archive, learn_new');
  await admin.end();
});

/** Records of startup parameters judged as SET statements (`source: startup`). */
function startupRecords(file: string): number {
  return readFileSync(file, 'utf8').trim().split('\n').filter((l) => (JSON.parse(l) as { source?: string }).source === 'startup').length;
}

describe('rules replay over a real session', () => {
  it('reports exactly the four changed verdicts, grouped by rule, with the human outcomes and approvals saved', async () => {
    const r = await cli(['replay', '--audit', auditFile, '--rules', join(dir, 'new-rules.yaml'), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    // Startup parameters are judged as SET statements and, with audit.reads all, recorded as reads: unchanged ones.
    const startup = startupRecords(auditFile);
    expect(startup).toBeGreaterThan(0);
    expect(report).toMatchObject({ statements: 8 + startup, rejudged: 8 + startup, unchanged: 4 + startup, changed: 4, rule_changed: 0 });
    expect(report.not_rejudgeable.total).toBe(0);
    expect(report.reads).toEqual({ recorded: 2 + startup, not_recorded: 0 });
    expect(report.transitions).toEqual({ 'allow→review': 1, 'review→deny': 2, 'review→allow': 1 });
    const byRule = report.by_rule.map((g: any) => ({ change: `${g.from}→${g.to}`, old: g.old_rule, now: g.new_rule, count: g.count, outcomes: g.outcomes, sql: g.examples.map((e: any) => e.sql) }));
    expect(byRule).toEqual(
      expect.arrayContaining([
        { change: 'allow→review', old: null, now: 'orders-writes', count: 1, outcomes: { ran: 1 }, sql: ["INSERT INTO learn_orders VALUES (100, 'x')"] },
        { change: 'review→deny', old: 'ddl', now: 'no-drops', count: 1, outcomes: { denied: 1 }, sql: ['DROP TABLE learn_archive'] },
        { change: 'review→deny', old: 'ddl', now: 'no-learn-new', count: 1, outcomes: { approved: 1 }, sql: ['CREATE TABLE learn_new (id int)'] },
        { change: 'review→allow', old: 'exports', now: 'copy-out-ok', count: 1, outcomes: { approved: 1 }, sql: ['COPY learn_orders TO STDOUT'] },
      ]),
    );
    expect(byRule).toHaveLength(4);
    expect(report.approvals).toEqual({ saved: 3, required: 1, saved_outcomes: { denied: 1, approved: 2 } });
    expect(report.fail_on).toEqual({ any: 4, 'denied-approved': 1, 'denied-allowed': 0, 'allowed-denied': 0, 'review-added': 1 });
    expect(report.by_fingerprint).toHaveLength(4);
    expect(report.by_fingerprint.every((g: any) => g.users.join() === 'postgres' && g.databases.join() === 'postgres')).toBe(true);
  });

  it('the rules that wrote the log replay to no change at all', async () => {
    const report = JSON.parse((await cli(['replay', '--audit', auditFile, '--rules', join(dir, 'old-rules.yaml'), '--json'])).stdout);
    const startup = startupRecords(auditFile);
    expect(report).toMatchObject({ rejudged: 8 + startup, unchanged: 8 + startup, changed: 0, rule_changed: 0 });
  });

  it('--fail-on denied-approved exits 1 and names the condition; a condition that does not hold exits 0', async () => {
    const failing = await cli(['replay', '--audit', auditFile, '--rules', join(dir, 'new-rules.yaml'), '--fail-on', 'denied-approved']);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain('FAIL: denied-approved (1)');
    expect(failing.stdout).toContain('review → deny  1 × — was rule ddl, now rule no-learn-new');
    const passing = await cli(['replay', '--audit', auditFile, '--rules', join(dir, 'new-rules.yaml'), '--fail-on', 'allowed-denied,denied-allowed']);
    expect(passing.code).toBe(0);
    expect(passing.stdout).toContain('ok: no allowed-denied, denied-allowed');
  });

  it('says how many reads it could not see when audit.reads left them out', async () => {
    const report = JSON.parse((await cli(['replay', '--audit', quietAuditFile, '--rules', join(dir, 'new-rules.yaml'), '--json'])).stdout);
    // The three SELECTs and node-postgres's one startup setting (client_encoding, judged as a SET: a read).
    expect(report.reads).toEqual({ recorded: 0, not_recorded: 4 });
    expect(report).toMatchObject({ statements: 1, changed: 1, transitions: { 'allow→review': 1 } });
  });

  it('reads several files as one log, and --since leaves older records out', async () => {
    const both = JSON.parse((await cli(['replay', '--audit', auditFile, quietAuditFile, '--rules', join(dir, 'new-rules.yaml'), '--json'])).stdout);
    expect(both).toMatchObject({ statements: 9 + startupRecords(auditFile) + startupRecords(quietAuditFile), changed: 5 });
    const future = JSON.parse((await cli(['replay', '--audit', auditFile, '--rules', join(dir, 'new-rules.yaml'), '--since', '2999-01-01T00:00:00Z', '--json'])).stdout);
    expect(future).toMatchObject({ statements: 0, changed: 0 });
  });

  it('an unreadable audit file exits 2 naming it; invalid rules exit 2 with file:line:col', async () => {
    const missing = await cli(['replay', '--audit', join(dir, 'nope.jsonl'), '--rules', join(dir, 'new-rules.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.jsonl: cannot read the audit file (ENOENT)');
    writeFileSync(join(dir, 'bad.yaml'), 'rules:\n  - id: x\n    mode: shdow\n    action: deny\n');
    const bad = await cli(['replay', '--audit', auditFile, '--rules', join(dir, 'bad.yaml')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.yaml:3:\d+: unknown mode 'shdow'/);
  });
});
