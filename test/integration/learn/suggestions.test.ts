// Rules learned from a real session's decisions: approvers approve one ALTER shape three times and deny one TRUNCATE
// shape three times through the HTTP API. `rules suggest` must propose one allow and one deny rule whose fixtures pass
// `rules test` and whose replay matches what `rules replay` reports with both adopted; the running instance serves the
// same suggestions on GET /api/suggestions and the console shows them (screenshot in docs/img/suggestions.png).
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide, startTestApp, TEST_RULES, TOKENS, waitForPending, type TestApp } from '../../helpers/app.js';
import { run } from '../../helpers/cli.js';
import { pgUrl, urlFor } from '../../helpers/env.js';
import { screenshotPath } from '../../helpers/screenshot-path.js';

const SCREENSHOT = screenshotPath('suggestions.png');
const NODE = 'node_modules/.bin/node';
const cli = (args: string[]) => run(NODE, ['dist/cli.js', 'rules', ...args], { env: { NO_COLOR: '1' }, timeoutMs: 60_000 });

let app: TestApp;
let admin: pg.Client;
let dir: string;
let rulesFile: string;
let suggested: any;

async function held(sql: string, decision: 'approve' | 'deny', by: keyof typeof TOKENS, reason = ''): Promise<void> {
  const c = new pg.Client(urlFor(app.port, { application: 'etl-agent' }));
  c.on('notice', () => {});
  c.on('error', () => {});
  await c.connect();
  const result = c.query(sql).catch((e: unknown) => e);
  const req = await waitForPending(app.api, (r) => r.sql === sql);
  expect((await decide(app.api, req.id, TOKENS[by], decision, reason)).status).toBe(200);
  await result;
  await c.end();
}

beforeAll(async () => {
  expect(existsSync('dist/cli.js'), 'run `npm run build` first').toBe(true);
  admin = new pg.Client(pgUrl());
  await admin.connect();
  await admin.query('DROP TABLE IF EXISTS learn_s_orders, learn_s_scratch');
  await admin.query('CREATE TABLE learn_s_orders (id int, note text); CREATE TABLE learn_s_scratch (id int); INSERT INTO learn_s_scratch VALUES (1)');
  app = await startTestApp();
  dir = mkdtempSync(join(tmpdir(), 'pgw-suggest-'));
  rulesFile = join(dirname(app.auditFile), 'rules.yaml');
  await held("ALTER TABLE learn_s_orders ALTER COLUMN note SET DEFAULT 'pending'", 'approve', 'alice@example.com', 'fine');
  await held("ALTER TABLE learn_s_orders ALTER COLUMN note SET DEFAULT 'open'", 'approve', 'bob@example.com');
  await held("ALTER TABLE learn_s_orders ALTER COLUMN note SET DEFAULT 'new'", 'approve', 'alice@example.com');
  await held('TRUNCATE learn_s_scratch', 'deny', 'bob@example.com', 'truncate is for the nightly job only');
  await held('TRUNCATE learn_s_scratch', 'deny', 'alice@example.com', 'truncate is for the nightly job only');
  await held('TRUNCATE learn_s_scratch', 'deny', 'bob@example.com', 'no');
});

afterAll(async () => {
  await app?.close();
  await admin.query('DROP TABLE IF EXISTS learn_s_orders, learn_s_scratch');
  await admin.end();
});

describe('rules suggest over a real session', () => {
  it('proposes one allow and one deny rule from three same-way decisions each, with the approvers and the common reason', async () => {
    // The denied TRUNCATEs had no effect; the approved ALTERs ran.
    expect((await admin.query('SELECT count(*)::int AS n FROM learn_s_scratch')).rows[0].n).toBe(1);
    expect((await admin.query("SELECT column_default FROM information_schema.columns WHERE table_name = 'learn_s_orders' AND column_name = 'note'")).rows[0].column_default).toBe("'new'::text");
    const r = await cli(['suggest', '--audit', app.auditFile, '--rules', rulesFile, '--json']);
    expect(r.code).toBe(0);
    suggested = JSON.parse(r.stdout);
    expect(suggested).toMatchObject({ decisions: 6, mixed: 0, min_decisions: 3 });
    const byAction = Object.fromEntries(suggested.suggestions.map((s: any) => [s.action, s]));
    expect(byAction.allow).toMatchObject({
      user: 'postgres',
      application: 'etl-agent',
      database: 'postgres',
      approved: 3,
      denied: 0,
      approvers: { 'alice@example.com': 2, 'bob@example.com': 1 },
      held_by: ['ddl'],
      tables: ['learn_s_orders'],
      place_before: { rule: 'ddl' },
      replay: { statements: 3, changed: 3, transitions: { 'review→allow': 3 }, approvals_saved: 3, other_changes: 0, fail_on: {} },
    });
    expect(byAction.deny).toMatchObject({
      denied: 3,
      reasons: { 'truncate is for the nightly job only': 2, no: 1 },
      replay: { statements: 3, transitions: { 'review→deny': 3 }, approvals_saved: 3, other_changes: 0 },
    });
    expect(byAction.deny.rule_yaml).toContain('message: truncate is for the nightly job only');
    // The human report carries the same rules and fixtures to copy.
    const human = await cli(['suggest', '--audit', app.auditFile, '--rules', rulesFile]);
    expect(human.stdout).toContain(`── allow: ${byAction.allow.id}`);
    expect(human.stdout).toContain(`above rule 'ddl' (${rulesFile}:`);
  });

  it('adopted, the suggestions pass `rules test` with their fixtures, and `rules replay` reports exactly their replay summaries', async () => {
    const adopted = join(dir, 'adopted');
    mkdirSync(join(adopted, 'tests'), { recursive: true });
    writeFileSync(join(adopted, 'rules.yaml'), TEST_RULES.replace('rules:\n', `rules:\n${suggested.suggestions.map((s: any) => s.rule_yaml.replace(/^(?=.)/gm, '  ')).join('')}`));
    for (const s of suggested.suggestions) writeFileSync(join(adopted, 'tests', `${s.id}.test.yaml`), s.fixtures_yaml);
    const tested = await cli(['test', adopted]);
    expect(tested.stdout).toMatch(/^\d+ passed, 0 failed\n$/);
    expect(tested.code).toBe(0);
    // 3 distinct ALTER texts + 1 other-user case; 1 distinct TRUNCATE text + 1 other-user case.
    expect(tested.stdout).toMatch(/^6 passed/);

    const replay = JSON.parse((await cli(['replay', '--audit', app.auditFile, '--rules', adopted, '--json'])).stdout);
    expect(replay.transitions).toEqual({ 'review→allow': 3, 'review→deny': 3 });
    const expected: Record<string, number> = {};
    for (const s of suggested.suggestions) for (const [k, v] of Object.entries(s.replay.transitions as Record<string, number>)) expected[k] = (expected[k] ?? 0) + v;
    expect(replay.transitions).toEqual(expected);
    expect(replay.approvals.saved).toBe(suggested.suggestions.reduce((n: number, s: any) => n + s.replay.approvals_saved, 0));
    expect(replay.by_rule.map((g: any) => g.new_rule).sort()).toEqual(suggested.suggestions.map((s: any) => s.id).sort());
  });

  it('without the rules the fixtures fail (they test the suggestion, not the old policy)', async () => {
    const plain = join(dir, 'plain');
    mkdirSync(join(plain, 'tests'), { recursive: true });
    writeFileSync(join(plain, 'rules.yaml'), TEST_RULES);
    for (const s of suggested.suggestions) writeFileSync(join(plain, 'tests', `${s.id}.test.yaml`), s.fixtures_yaml);
    const tested = await cli(['test', plain]);
    expect(tested.code).toBe(1);
    expect(tested.stdout).toMatch(/2 passed, 4 failed/);
  });

  it('GET /api/suggestions serves the same suggestions to an approver, and refuses anyone else', async () => {
    const anonymous = await fetch(`${app.api}/api/suggestions`);
    expect(anonymous.status).toBe(401);
    const res = await fetch(`${app.api}/api/suggestions?since=7d`, { headers: { authorization: `Bearer ${TOKENS['alice@example.com']}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.suggestions.map((s: any) => s.id).sort()).toEqual(suggested.suggestions.map((s: any) => s.id).sort());
    expect(body.suggestions.map((s: any) => s.rule_yaml).sort()).toEqual(suggested.suggestions.map((s: any) => s.rule_yaml).sort());
    const bad = await fetch(`${app.api}/api/suggestions?since=forever`, { headers: { authorization: `Bearer ${TOKENS['alice@example.com']}` } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error.message).toContain("since must be a duration up to 90d such as 7d or 24h, got 'forever'");
  });
});

describe('console: suggested rules', () => {
  let browser: Browser;
  afterAll(async () => {
    await browser?.close();
  });

  it('shows each suggestion to a signed-in approver with their own count and the YAML to copy (screenshot for the docs)', async () => {
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width: 1240, height: 900 }, locale: 'en-US', timezoneId: 'UTC', deviceScaleFactor: 1 });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${app.api}/#token=${TOKENS['alice@example.com']}`);
    await expect.poll(() => page.locator('[data-testid=suggestion]').count(), { timeout: 15_000 }).toBe(2);
    const allow = page.locator('[data-testid=suggestion].allow');
    await expect.poll(() => allow.locator('h3').textContent()).toBe('You approved this shape 2 times (3 in all) this week — make it an allow rule?');
    const deny = page.locator('[data-testid=suggestion].deny');
    expect(await deny.locator('h3').textContent()).toBe('You denied this shape 1 time (3 in all) this week — make it a deny rule?');
    const yaml = await allow.locator('pre.yaml').first().textContent();
    expect(yaml).toBe(suggested.suggestions.find((s: any) => s.action === 'allow').rule_yaml);
    expect(await allow.locator('.replay').textContent()).toContain('3 review→allow; 3 approval(s) saved; nothing else changes.');
    expect(await page.locator('#suggestion-count').textContent()).toBe('2');
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true, animations: 'disabled' });
    // Copy puts the YAML on the clipboard (or selects it where the clipboard is not available).
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.api });
    await allow.locator('button.copy').first().click();
    expect(await page.evaluate(() => (globalThis as any).navigator.clipboard.readText() as Promise<string>)).toBe(yaml);
    expect(errors).toEqual([]);
  });
});
