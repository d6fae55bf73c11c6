// Teams card views: size budget with huge statements, surrogate-safe truncation, preserved layout, verbs on every action, refusal of markdown in untrusted text.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ApprovalRequest } from '../../../src/approvals/request.js';
import { CARD_BUDGET, TEAMS_MESSAGE_LIMIT, TeamsVerb, requestCard, resultCard, type CardContext } from '../../../src/approvals/channels/teams/card.js';
import { cutToJsonBytes, cutUtf16, jsonBytes, preserveWhitespace } from '../../../src/approvals/channels/teams/text.js';
import { cardText, cardVerbs } from '../../fakes/card-inspect.js';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function request(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    id: 'req_TEST123',
    status: 'pending',
    sql: 'DROP TABLE t',
    normalized: 'DROP TABLE t',
    fingerprint: 'abc',
    categories: ['ddl'],
    tables: ['public.t'],
    rule: 'ddl',
    ruleReason: 'category ddl matched rule ddl',
    actor: { user: 'agent_ci', application: 'claude', address: '10.0.0.7' },
    database: 'app',
    statedReason: 'cleanup',
    approvers: ['alice@example.com'],
    groups: ['dba'],
    quorum: 1,
    scopes: ['once', 'fingerprint'],
    grantTtlMs: 3_600_000,
    createdAt: '2026-05-01T10:00:00.000Z',
    expiresAt: '2026-05-01T10:05:00.000Z',
    decidedAt: null,
    decisions: [],
    instance: 'i1',
    ...overrides,
  };
}

const ctx: CardContext = { publicUrl: 'https://pgwarden.example', refreshUserIds: ['29:alice', '29:bob'], redactLiterals: false };

describe('Teams card', () => {
  it('keeps the approver card under the Teams limit with a 100 KB multi-line statement', () => {
    const line = "  UPDATE accounts SET note = 'ünïcödé 🚀 text' WHERE id = 42;";
    const sql = Array.from({ length: Math.ceil(100_000 / line.length) }, () => line).join('\n');
    expect(sql.length).toBeGreaterThan(100_000);
    const card = requestCard(request({ sql, normalized: sql.replace(/'[^']*'/g, '$1') }), ctx, { withActions: true });
    const bytes = jsonBytes(card);
    expect(bytes).toBeLessThan(CARD_BUDGET);
    expect(bytes).toBeLessThan(TEAMS_MESSAGE_LIMIT);
    const text = cardText(card);
    expect(text).toContain('truncated');
    expect(JSON.stringify(card)).not.toMatch(LONE_SURROGATE);
    // Buttons survive truncation: they are budgeted before the statement.
    expect(cardVerbs(card)).toEqual(expect.arrayContaining([TeamsVerb.approve, TeamsVerb.deny]));
  });

  it('never cuts a 100 KB single-line statement of emoji between surrogate halves', () => {
    const sql = `SELECT '${'😀'.repeat(50_000)}'`;
    for (const card of [requestCard(request({ sql }), ctx, { withActions: true }), resultCard(request({ sql, status: 'expired' }), ctx)]) {
      const json = JSON.stringify(card);
      expect(jsonBytes(card)).toBeLessThan(TEAMS_MESSAGE_LIMIT);
      expect(json).not.toMatch(LONE_SURROGATE);
    }
  });

  it('property: any statement yields a card under the limit with no lone surrogate', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40_000 }), (sql) => {
        const card = requestCard(request({ sql, normalized: sql }), ctx, { withActions: true });
        expect(jsonBytes(card)).toBeLessThan(TEAMS_MESSAGE_LIMIT);
        // Only our own cutting is checked: a lone surrogate the input already had is the input's.
        if (!LONE_SURROGATE.test(sql)) expect(JSON.stringify(card)).not.toMatch(LONE_SURROGATE);
      }),
      { numRuns: 60 },
    );
  });

  it('preserves indentation and spacing line by line in monospace', () => {
    const sql = 'SELECT a,\n       b\nFROM   t\n\tWHERE x = 1';
    const card = requestCard(request({ sql, normalized: sql }), ctx, { withActions: false });
    const runs = JSON.stringify(card);
    expect(runs).toContain('"fontType":"Monospace"');
    const text = cardText(card);
    expect(text).toContain('\u00a0'.repeat(7) + 'b');
    expect(text).toContain('FROM \u00a0\u00a0t');
    expect(text).toContain('\u00a0'.repeat(4) + 'WHERE x = 1');
  });

  it('puts a verb on every Action.Execute, offers the scope choice only when allowed', () => {
    const approver = requestCard(request(), ctx, { withActions: true });
    const actions = JSON.stringify(approver).match(/"type":"Action\.[A-Za-z]+"/g) ?? [];
    expect(actions.every((a) => a === '"type":"Action.Execute"')).toBe(true);
    expect(cardVerbs(approver).sort()).toEqual([TeamsVerb.approve, TeamsVerb.deny, TeamsVerb.refresh].sort());
    expect(JSON.stringify(approver)).toContain('Input.ChoiceSet');
    expect((approver as unknown as { refresh: { userIds: string[] } }).refresh.userIds).toEqual(ctx.refreshUserIds);
    const onceOnly = requestCard(request({ scopes: ['once'] }), ctx, { withActions: true });
    expect(JSON.stringify(onceOnly)).not.toContain('Input.ChoiceSet');
    expect(approver.version).toBe('1.5');
  });

  it('shows untrusted text as plain TextRuns, never markdown', () => {
    const card = requestCard(request({ statedReason: '[approve me](https://evil.example) **now**', actor: { user: 'agent_*x*', application: '', address: '1.2.3.4' } }), ctx, {
      withActions: false,
    });
    const blocks = JSON.stringify(card);
    // The text only appears inside TextRun objects (RichTextBlock inlines), which Teams does not parse as markdown.
    expect(blocks).toMatch(/"type":"TextRun","text":"\[approve me\]\(https:\/\/evil\.example\) \*\*now\*\*"/);
    expect(blocks).not.toMatch(/"type":"TextBlock","text":"[^"]*evil\.example/);
  });

  it('result card names who decided, when and why, without buttons or refresh', () => {
    const done = request({
      status: 'approved',
      decidedAt: '2026-05-01T10:01:02.000Z',
      decisions: [{ by: 'alice@example.com', decision: 'approve', reason: 'planned', at: '2026-05-01T10:01:02.000Z', via: 'teams', scope: 'fingerprint' }],
    });
    const card = resultCard(done, ctx);
    const text = cardText(card);
    // The time is rendered by each viewer's Teams client in their locale; the plain-text fallback says it in UTC.
    expect(text).toContain('Approved by alice@example.com\n{{DATE(2026-05-01T10:01:02Z, SHORT)}} {{TIME(2026-05-01T10:01:02Z)}}');
    expect((card as { fallbackText?: string }).fallbackText).toContain('Approved by alice@example.com at 2026-05-01 10:01:02 UTC');
    expect(text).toContain('planned');
    expect(cardVerbs(card)).toEqual([]);
    expect((card as { refresh?: unknown }).refresh).toBeUndefined();
  });

  it('shows only the normalized form when literals are redacted', () => {
    const card = requestCard(request({ sql: "UPDATE t SET secret = 'hunter2'", normalized: 'UPDATE t SET secret = $1' }), { ...ctx, redactLiterals: true }, { withActions: false });
    const text = cardText(card);
    expect(text).not.toContain('hunter2');
    expect(text).toContain('UPDATE t SET secret = $1');
  });
});

describe('Teams text shaping', () => {
  it('cutUtf16 never splits a surrogate pair', () => {
    const s = 'ab😀cd';
    expect(cutUtf16(s, 3)).toBe('ab');
    expect(cutUtf16(s, 4)).toBe('ab😀');
    expect(cutUtf16(s, 100)).toBe(s);
  });

  it('cutToJsonBytes fits the JSON encoding, escapes included', () => {
    const s = '"\\'.repeat(100);
    const cut = cutToJsonBytes(s, 50);
    expect(jsonBytes(cut)).toBeLessThanOrEqual(50);
    expect(s.startsWith(cut)).toBe(true);
  });

  it('preserveWhitespace keeps a breakable space in each run and shows empty lines', () => {
    expect(preserveWhitespace('')).toBe('\u00a0');
    expect(preserveWhitespace('a    b')).toBe('a \u00a0\u00a0\u00a0b');
    expect(preserveWhitespace('\tx')).toBe('\u00a0\u00a0\u00a0\u00a0x');
  });
});

/** Bytes the card takes in the activity, and in UTF-16 (how Teams measures its ~100 KB limit). */
function sizes(card: unknown): { utf8: number; utf16: number } {
  const json = JSON.stringify(card);
  return { utf8: Buffer.byteLength(json, 'utf8'), utf16: json.length * 2 };
}

describe('Teams card budget for every field', () => {
  const many = <T,>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

  it('keeps a DROP of 4,000 tables under the budget, listing some tables and "N more, see console"', () => {
    const tables = many(4000, (i) => `public.customer_archive_table_${String(i).padStart(4, '0')}`);
    const sql = `DROP TABLE ${tables.join(', ')}`;
    const big = request({ sql, normalized: sql, tables, categories: ['ddl'] });
    for (const card of [requestCard(big, ctx, { withActions: true }), requestCard(big, ctx, { withActions: false })]) {
      const { utf8, utf16 } = sizes(card);
      expect(utf8).toBeLessThanOrEqual(CARD_BUDGET);
      // Microsoft: ~100 KB counted in UTF-16, 80 KB recommended. Far below either.
      expect(utf16).toBeLessThan(80 * 1024);
      const text = cardText(card);
      expect(text).toContain('public.customer_archive_table_0000');
      expect(text).toMatch(/… and 3,?\d{3} more, see console/);
    }
  });

  it('cuts long reasons and names with "N more characters, see console"', () => {
    const huge = 'x'.repeat(50_000);
    const card = requestCard(request({ statedReason: huge, ruleReason: huge, actor: { user: huge, application: huge, address: '10.0.0.7', owner: huge }, database: huge }), ctx, { withActions: true });
    expect(sizes(card).utf8).toBeLessThanOrEqual(CARD_BUDGET);
    expect(cardText(card)).toMatch(/more characters, see console/);
    // The statement still gets room after every other field took its share.
    expect(cardText(card)).toContain('DROP TABLE t');
  });

  it('lists at most 10 decisions on a result card, each reason budgeted, and counts the rest', () => {
    const decisions = many(50, (i) => ({ by: `approver${i}@example.com`, decision: 'approve' as const, reason: 'r'.repeat(5000), at: '2026-05-01T10:01:02.000Z', via: 'console' as const }));
    const done = request({ status: 'approved', decidedAt: '2026-05-01T10:01:02.000Z', quorum: 50, decisions, approvers: decisions.map((d) => d.by) });
    const card = resultCard(done, ctx);
    expect(sizes(card).utf8).toBeLessThanOrEqual(CARD_BUDGET);
    expect(cardText(card)).toContain('… and 40 more decisions, see console');
  });

  it('budgets a long approver list', () => {
    const approvers = many(2000, (i) => `approver-number-${i}@example.com`);
    const card = requestCard(request({ approvers, groups: [] }), ctx, { withActions: false });
    expect(sizes(card).utf8).toBeLessThanOrEqual(CARD_BUDGET);
    expect(cardText(card)).toMatch(/more, see console — 1 needed/);
  });

  it('lists at most 60 users in refresh.userIds and tells the others how to get their buttons', () => {
    const ids = many(75, (i) => `29:user-${i}`);
    const card = requestCard(request(), { ...ctx, refreshUserIds: ids }, { withActions: false }) as unknown as { refresh: { userIds: string[] } };
    expect(card.refresh.userIds).toHaveLength(60);
    expect(cardText(card)).toContain('More than 60 approvers');
    expect(cardText(requestCard(request(), ctx, { withActions: false }))).not.toContain('More than 60 approvers');
  });

  it('shows times with Adaptive Card DATE/TIME functions (each viewer’s locale) and marks section headings', () => {
    const card = requestCard(request(), ctx, { withActions: false });
    expect(cardText(card)).toContain('**Requested:** {{DATE(2026-05-01T10:00:00Z, SHORT)}} {{TIME(2026-05-01T10:00:00Z)}}');
    expect(cardText(card)).toContain('**Expires:** {{DATE(2026-05-01T10:05:00Z, SHORT)}} {{TIME(2026-05-01T10:05:00Z)}}');
    const headings = JSON.stringify(card).match(/"style":"heading"/g) ?? [];
    expect(headings.length).toBeGreaterThanOrEqual(4);
  });
});
