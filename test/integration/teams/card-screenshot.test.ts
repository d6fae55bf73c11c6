// The approver's Teams card for a realistic export request, rendered in headless Chromium (Teams-like light theme) and saved as docs/img/teams-card.png.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnalyzer, loadSqlParser, statedReason } from '../../../src/sql/analyze.js';
import { parseRules } from '../../../src/policy/load.js';
import type { Actor } from '../../../src/policy/verdict.js';
import type { OpenApprovalInput } from '../../../src/approvals/service-types.js';
import { TeamsVerb } from '../../../src/approvals/channels/teams/card.js';
import { renderCardHtml } from '../../fakes/card-html.js';
import { ALICE, TEST_CHANNEL_ID, cardVerbs, invokeCard, startTeamsHarness, type TeamsHarness } from '../../fakes/teams-harness.js';
import { screenshotPath } from '../../helpers/screenshot-path.js';

const SCREENSHOT = screenshotPath('teams-card.png');

// A data team approving exports of customer data, the request an analytics agent's bulk export makes.
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

let h: TeamsHarness;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  h = await startTeamsHarness();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 800, height: 1400 }, locale: 'en-US', timezoneId: 'UTC', deviceScaleFactor: 1 });
  page = await context.newPage();
  // The page is self-contained: any request it makes (a font, an image) is a renderer bug.
  await page.route('**/*', (route) => route.abort());
});
afterAll(async () => {
  await browser?.close();
  await h?.close();
});

/** The request the proxy's gate would open for SQL from ACTOR: real parser, real rules. */
async function exportRequest(): Promise<OpenApprovalInput> {
  await loadSqlParser();
  const facts = createAnalyzer({ maxRows: 10_000, cacheEntries: 0 }).analyze(SQL);
  const verdict = parseRules(POLICY).evaluate(facts, ACTOR, { database: 'warehouse', inTransactionBlock: false, now: new Date() });
  expect(verdict).toMatchObject({ action: 'review', rule: 'customer-exports' });
  return { sql: SQL, facts, verdict, actor: ACTOR, database: 'warehouse', statedReason: statedReason(SQL), connectionId: 'conn-screenshot' };
}

describe('the Teams card in a browser', () => {
  it('shows an approver the statement, the rule, the reason box, the scope choice and Approve / Deny; saved for the docs', async () => {
    const pending = await h.service.open(await exportRequest());
    const shared = await h.connector.waitFor(() => h.connector.messagesIn(TEST_CHANNEL_ID)[0]);

    // The copy everyone sees has no buttons ...
    await page.setContent(renderCardHtml(h.connector.cardOf(shared)));
    expect(await page.locator('.ac-card').innerText()).toContain('COPY customers TO STDOUT');
    expect(await page.getByRole('button').count()).toBe(0);

    // ... the approver's client refreshes it into the view with buttons (what Alice sees).
    const res = await h.click(ALICE, TeamsVerb.refresh, pending.request.id);
    const view = invokeCard(res.body);
    expect(cardVerbs(view)).toEqual(expect.arrayContaining([TeamsVerb.approve, TeamsVerb.deny]));
    await page.setContent(renderCardHtml(view));
    const card = page.locator('.ac-card');
    // innerText is what is laid out and visible (no-break spaces as the card sends them, normalized here).
    const text = (await card.innerText()).replace(/\u00a0/g, ' ');
    expect(text).toContain('COPY customers TO STDOUT WITH (FORMAT csv, HEADER)');
    expect(text).toContain('Rule: customer-exports');
    expect(text).toContain('exports of customer data need the data team');
    expect(text).toContain("Agent's stated reason: finance asked for this quarter's churn model input");
    expect(text).toContain('User: analytics_agent');
    expect(text).toContain('Owner: dana@example.com');
    expect(await card.getByRole('button', { name: 'Approve', exact: true }).isVisible()).toBe(true);
    expect(await card.getByRole('button', { name: 'Deny', exact: true }).isVisible()).toBe(true);
    expect(await card.getByRole('textbox', { name: /Reason/ }).isVisible()).toBe(true);
    expect(await card.getByRole('radio', { name: 'This statement only' }).isChecked()).toBe(true);
    expect(await card.getByRole('radio', { name: /same shape .* for 8h/ }).isVisible()).toBe(true);
    // The buttons sit inside the card's visible box (not clipped off the bottom).
    const box = (await card.boundingBox())!;
    const approve = (await card.getByRole('button', { name: 'Approve', exact: true }).boundingBox())!;
    expect(approve.y + approve.height).toBeLessThanOrEqual(box.y + box.height);

    await page.evaluate('document.fonts.ready.then(() => true)');
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await card.screenshot({ path: SCREENSHOT, animations: 'disabled' });

    pending.withdraw('client_disconnect');
    await pending.outcome;
  });
});
