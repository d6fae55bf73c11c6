// The Slack message for a realistic export request, rendered from its Block Kit JSON in headless Chromium (Slack-like light theme) and saved as docs/img/slack-message.png.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyzer, loadSqlParser, statedReason } from '../../../src/sql/analyze.js';
import { parseRules } from '../../../src/policy/load.js';
import type { Actor } from '../../../src/policy/verdict.js';
import type { OpenApprovalInput } from '../../../src/approvals/service-types.js';
import { renderSlackHtml } from '../../fakes/slack-html.js';
import { APPROVALS_CHANNEL, startSlackHarness, type SlackHarness } from '../../fakes/slack-harness.js';
import { screenshotPath } from '../../helpers/screenshot-path.js';

const SCREENSHOT = screenshotPath('slack-message.png');

// The same request as the Teams card's screenshot: a data team approving an analytics agent's export of customer data.
const POLICY = `
version: 1
defaults: { action: allow, review: { approvers: [data-team], timeout: 15m } }
groups:
  data-team: [alice@example.com, bob@example.com]
rules:
  - id: customer-exports
    match: { category: export, tables: [customers] }
    action: review
    reason: exports of customer data need the data team
    scope: { allow: [once, fingerprint], ttl: 8h }
`;
const SQL = `/* reason: finance asked for this quarter's churn model input */
COPY customers TO STDOUT WITH (FORMAT csv, HEADER)`;
const ACTOR: Actor = { user: 'analytics_agent', application: 'claude-code', address: '10.20.3.41', owner: 'dana@example.com' };

let h: SlackHarness;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  h = await startSlackHarness();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 760, height: 1200 }, locale: 'en-US', timezoneId: 'UTC', deviceScaleFactor: 1 });
  page = await context.newPage();
  // The page is self-contained: any request it makes (a font, an image) is a renderer bug.
  await page.route('**/*', (route) => route.abort());
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

async function exportRequest(): Promise<OpenApprovalInput> {
  await loadSqlParser();
  const facts = createAnalyzer({ maxRows: 10_000, cacheEntries: 0 }).analyze(SQL);
  const verdict = parseRules(POLICY).evaluate(facts, ACTOR, { database: 'warehouse', inTransactionBlock: false, now: new Date() });
  expect(verdict).toMatchObject({ action: 'review', rule: 'customer-exports' });
  return { sql: SQL, facts, verdict, actor: ACTOR, database: 'warehouse', statedReason: statedReason(SQL), connectionId: 'conn-screenshot' };
}

describe('the Slack message in a browser', () => {
  it('shows the statement, who asked and why, the rule, expiry, approvals and Approve / Deny; saved for the docs', async () => {
    const pending = await h.service.open(await exportRequest());
    const message = await h.message(pending.request.id, APPROVALS_CHANNEL);
    await page.setContent(renderSlackHtml(message.blocks, { byline: { name: 'pgwarden', time: '10:32 AM' } }));
    const shown = page.locator('.sk-message');
    const text = await shown.innerText();
    expect(text).toContain('Approval needed: export on warehouse');
    expect(text).toContain('COPY customers TO STDOUT WITH (FORMAT csv, HEADER)');
    for (const expected of ['analytics_agent', 'claude-code', 'dana@example.com', 'customer-exports', 'exports of customer data need the data team', "finance asked for this quarter's churn model input", 'data-team (1 needed)', '0 of 1']) {
      expect(text).toContain(expected);
    }
    // The statement sits in a code block, its first line intact.
    expect(await shown.locator('pre').first().innerText()).toContain("/* reason: finance asked for this quarter's churn model input */");
    expect(await shown.getByRole('button', { name: 'Approve', exact: true }).isVisible()).toBe(true);
    expect(await shown.getByRole('button', { name: 'Deny', exact: true }).isVisible()).toBe(true);
    expect(await shown.getByRole('button', { name: 'Open in console' }).getAttribute('href')).toBe(`http://pgwarden.test/#/approvals/${pending.request.id}`);

    await page.evaluate('document.fonts.ready.then(() => true)');
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.locator('.sk-wrap').screenshot({ path: SCREENSHOT, animations: 'disabled' });

    pending.withdraw('client_disconnect');
    await pending.outcome;
  });
});
