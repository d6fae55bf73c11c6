// The web console in real headless Chromium: sign in by #token link, live arrival over SSE, approve with a reason, CSRF refusals, screenshot for the docs.
import { createServer, type Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pendingRequest, startServer, TOKENS, type TestServer } from '../http/fixtures.js';
import { screenshotPath } from '../../helpers/screenshot-path.js';

const SCREENSHOT = screenshotPath('console.png');

let srv: TestServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let evil: Server;
let evilUrl: string;
/** Console errors on the console page (a CSP violation or a script error would land here). */
const pageErrors: string[] = [];

beforeAll(async () => {
  srv = await startServer();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext({ viewport: { width: 1240, height: 900 }, locale: 'en-US', timezoneId: 'UTC', deviceScaleFactor: 1 });
  page = await context.newPage();
  page.on('console', (m) => {
    // The deliberate 401/403s of the tests below are logged by Chromium as failed resources; anything else is a bug.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) pageErrors.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // Another site (localhost ≠ 127.0.0.1) that tries to make the signed-in browser decide.
  evil = createServer((req, res) => {
    const target = decodeURIComponent(new URL(req.url ?? '/', 'http://x').searchParams.get('target') ?? '');
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(`<!doctype html><form id="f" method="POST" enctype="text/plain" action="${target}"><input name='{"decision":"approve","reason":"x","pad":"' value='"}'></form><script>document.getElementById('f').submit()</script>`);
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
  const addr = evil.address();
  evilUrl = `http://localhost:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => evil?.close(r));
  await srv?.close();
});

describe('approvals console', () => {
  it('signs in from a #token link and removes the token from the address bar', async () => {
    // A request already decided, so "recent decisions" has history in the screenshot.
    const old = pendingRequest({
      sql: 'DELETE FROM orders WHERE created_at < now() - interval \'2 years\'',
      normalized: 'DELETE FROM orders WHERE created_at < now() - interval $1',
      categories: ['write'],
      tables: ['orders'],
      rule: 'bulk-writes',
      ruleReason: 'category write without a WHERE on the primary key matched rule bulk-writes',
      statedReason: 'retention cleanup',
      createdAt: new Date(Date.now() - 9 * 60_000).toISOString(),
    });
    await srv.store.create(old);
    expect((await srv.service.decide({ id: old.id, by: 'bob@example.com', decision: 'deny', reason: 'archive to cold storage first', via: 'api' })).ok).toBe(true);

    await page.goto(`${srv.url}/#token=${TOKENS['alice@example.com']}`);
    await expect.poll(() => page.locator('#identity').textContent()).toBe('alice@example.com');
    expect(page.url()).not.toContain('token');
    expect(page.url()).toBe(`${srv.url}/`);
    const cookies = await context.cookies(srv.url);
    const session = cookies.find((c) => c.name === 'pgwarden_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Strict');
    await expect.poll(() => page.locator('#live').getAttribute('data-state')).toBe('live');
    await page.locator(`[data-testid=recent-decision][data-id="${old.id}"]`).waitFor();
  });

  it('shows a request created after the page loaded, live over SSE, with its full context', async () => {
    const req = pendingRequest();
    await srv.store.create(req);
    const card = page.locator(`[data-testid=pending-request][data-id="${req.id}"]`);
    await card.waitFor();
    // Whitespace of the SQL is preserved exactly.
    expect(await card.locator('[data-testid=sql]').textContent()).toBe(req.sql);
    const text = (await card.textContent()) ?? '';
    for (const part of ['agent_reporting', 'claude-code', '10.20.4.17', 'app_production', 'customers', 'export', 'rule: exports', 'quarterly churn analysis for finance', 'data-owners', '0 of 1 approval']) {
      expect(text).toContain(part);
    }
    expect(await card.locator('.countdown').textContent()).toMatch(/^expires in \d+:\d\d$/);

    const ddl = pendingRequest({
      sql: 'CREATE TABLE churn_scores (\n  customer_id bigint PRIMARY KEY REFERENCES customers(id),\n  score       numeric(5,4) NOT NULL,\n  computed_at timestamptz NOT NULL DEFAULT now()\n);',
      normalized: 'CREATE TABLE churn_scores (customer_id bigint PRIMARY KEY REFERENCES customers(id), score numeric(5,4) NOT NULL, computed_at timestamptz NOT NULL DEFAULT now())',
      categories: ['ddl'],
      tables: ['churn_scores'],
      rule: 'ddl',
      ruleReason: 'category ddl matched rule ddl (actor user agent_*)',
      actor: { user: 'agent_reporting', application: 'claude-code', address: '10.20.4.17' },
      statedReason: null,
      groups: ['dba'],
      approvers: ['alice@example.com', 'bob@example.com'],
      quorum: 2,
      scopes: ['once'],
    });
    await srv.store.create(ddl);
    await page.locator(`[data-testid=pending-request][data-id="${ddl.id}"]`).waitFor();
    await page.locator(`[data-testid=pending-request][data-id="${req.id}"] textarea`).fill('OK for the Q3 finance review; aggregated results only, please');
    await page.locator('#pending-count').filter({ hasText: '2' }).waitFor();
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true, animations: 'disabled' });
  });

  it('shows how much of a cut statement is missing and the SHA-256 of the whole', async () => {
    const sha = 'c0ffee'.repeat(10) + 'abcd';
    const req = pendingRequest({ sql: 'SELECT é', sqlTruncated: true, sqlLength: 70_000, sqlSha256: sha });
    await srv.store.create(req);
    const card = page.locator(`[data-testid=pending-request][data-id="${req.id}"]`);
    await card.waitFor();
    // 'SELECT é' is 9 UTF-8 bytes: the note counts bytes, as sql_length does.
    expect(await card.locator('[data-testid=sql-truncated]').textContent()).toBe(`… (69991 more bytes, sha256 ${sha})`);
    const whole = pendingRequest();
    await srv.store.create(whole);
    await page.locator(`[data-testid=pending-request][data-id="${whole.id}"]`).waitFor();
    expect(await page.locator(`[data-testid=pending-request][data-id="${whole.id}"] [data-testid=sql-truncated]`).count()).toBe(0);
  });

  it('approves with a reason; the request moves to recent decisions', async () => {
    const req = (await srv.store.list({ status: 'pending' })).find((r) => r.rule === 'exports')!;
    const card = page.locator(`[data-testid=pending-request][data-id="${req.id}"]`);
    await card.locator('input[value=fingerprint]').check();
    await card.getByRole('button', { name: 'Approve' }).click();
    await card.waitFor({ state: 'detached' });
    const row = page.locator(`[data-testid=recent-decision][data-id="${req.id}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('approved');
    expect(await row.textContent()).toContain('alice@example.com');
    const stored = await srv.store.get(req.id);
    expect(stored?.status).toBe('approved');
    expect(stored?.decisions[0]).toMatchObject({ by: 'alice@example.com', decision: 'approve', reason: 'OK for the Q3 finance review; aggregated results only, please', via: 'console', scope: 'fingerprint' });
  });

  it('refuses a POST that carries the session cookie but not the CSRF token', async () => {
    const req = pendingRequest();
    await srv.store.create(req);
    const result = await page.evaluate(async (id) => {
      const res = await fetch(`/api/approvals/${id}/decision`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"decision":"approve"}' });
      return { status: res.status, body: (await res.json()) as { error: { code: string } } };
    }, req.id);
    expect(result.status).toBe(403);
    expect(result.body.error.code).toBe('csrf_rejected');
    expect((await srv.store.get(req.id))?.status).toBe('pending');
  });

  it('refuses a cross-site form POST from another origin', async () => {
    const req = pendingRequest();
    await srv.store.create(req);
    const attacker = await context.newPage();
    const target = `${srv.url}/api/approvals/${req.id}/decision`;
    const refused = attacker.waitForResponse((r) => r.url() === target);
    await attacker.goto(`${evilUrl}/?target=${encodeURIComponent(target)}`);
    expect((await refused).status()).toBe(403);
    await attacker.close();
    expect((await srv.store.get(req.id))?.status).toBe('pending');
  });

  it('signs out and back in with the form', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#sign-in-form').waitFor();
    expect((await context.cookies(srv.url)).find((c) => c.name === 'pgwarden_session')).toBeUndefined();
    await page.locator('#token').fill('wrong-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#sign-in-error').textContent()).toMatch(/not valid/);
    await page.locator('#token').fill(TOKENS['bob@example.com']);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#identity').textContent()).toBe('bob@example.com');
  });

  it('opens the request a waiting notice links to (#/approvals/ID), pending or settled', async () => {
    const held = pendingRequest();
    await srv.store.create(held);
    const linked = await context.newPage();
    await linked.goto(`${srv.url}/#/approvals/${held.id}`);
    await linked.locator(`[data-testid=pending-request][data-id="${held.id}"].linked`).waitFor();
    const settled = pendingRequest();
    await srv.store.create(settled);
    expect((await srv.service.decide({ id: settled.id, by: 'alice@example.com', decision: 'deny', reason: 'not today' })).ok).toBe(true);
    await linked.goto(`${srv.url}/#/approvals/${settled.id}`);
    await linked.locator(`[data-testid=recent-decision][data-id="${settled.id}"].linked`).waitFor();
    await linked.close();
  });

  it('serves the page with a strict Content-Security-Policy and runs without script or CSP errors', async () => {
    const res = await fetch(`${srv.url}/`);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'; style-src 'self'.*frame-ancestors 'none'/);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(pageErrors).toEqual([]);
  });
});
