// The Slack message stays inside Slack's limits whatever the request holds, keeps every code block closed, and never lets agent-written text act as mrkdwn.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ApprovalRequest } from '../../../src/approvals/request.js';
import { requestMessage, type SizeFacts } from '../../../src/approvals/channels/slack/message.js';
import { decisionModal, readSubmission } from '../../../src/approvals/channels/slack/modal.js';
import { validateMessage, validateView } from '../../fakes/slack-limits.js';
import { blocksText, buttonsOf } from '../../fakes/slack-interactions.js';

const CTX = { publicUrl: 'https://pgwarden.example.com', redactLiterals: false };

function request(over: Partial<ApprovalRequest> & Partial<SizeFacts> = {}): ApprovalRequest {
  return {
    id: 'apr_test0001',
    status: 'pending',
    sql: "DELETE FROM orders WHERE note = 'x'",
    normalized: 'DELETE FROM orders WHERE note = $1',
    fingerprint: 'abc',
    categories: ['write'],
    tables: ['public.orders'],
    rule: 'writes',
    ruleReason: 'writes need review',
    actor: { user: 'agent_7', application: 'claude-code', address: '10.0.0.9' },
    database: 'shop',
    statedReason: 'cleanup',
    approvers: ['alice@example.com'],
    groups: ['dba'],
    quorum: 1,
    scopes: ['once'],
    grantTtlMs: 3_600_000,
    createdAt: '2026-05-01T10:00:00.000Z',
    expiresAt: '2026-05-01T10:05:00.000Z',
    decidedAt: null,
    decisions: [],
    instance: 'test',
    ...over,
  } as ApprovalRequest;
}

type Block = Record<string, unknown>;
const blocksOf = (r: ApprovalRequest, ctx = CTX) => requestMessage(r, ctx).blocks as unknown as Block[];
const mrkdwnTexts = (blocks: Block[]) => {
  const out: string[] = [];
  const walk = (n: unknown) => {
    if (Array.isArray(n)) n.forEach(walk);
    else if (n && typeof n === 'object') {
      const o = n as Record<string, unknown>;
      if (o.type === 'mrkdwn' && typeof o.text === 'string') out.push(o.text);
      Object.values(o).forEach(walk);
    }
  };
  walk(blocks);
  return out;
};
/** The content of every code block, as shown (entities decoded, the zero-width spaces we insert removed). */
const codeChunks = (blocks: Block[]) =>
  mrkdwnTexts(blocks)
    .filter((t) => t.includes('```'))
    .map((t) => {
      const m = /```\n([\s\S]*)\n```$/.exec(t);
      if (!m) throw new Error(`code block not closed: ${t.slice(-40)}`);
      return m[1]!.replace(/\u200b/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    });

describe('the Slack message', () => {
  it('fits every limit with a 200,000-character statement, shows its start in closed code blocks and says how much is left out', () => {
    const sql = Array.from({ length: 4000 }, (_, i) => `INSERT INTO t VALUES (${i}, '${'x'.repeat(40)}');`).join('\n');
    const blocks = blocksOf(request({ sql, normalized: sql.replace(/'x+'/g, '$1') }));
    const message = requestMessage(request({ sql }), CTX);
    expect(validateMessage({ text: message.text, blocks: message.blocks as unknown as Block[] })).toEqual([]);
    expect(blocks.length).toBeLessThanOrEqual(50);
    const chunks = codeChunks(blocks);
    expect(sql.startsWith(chunks[0]!)).toBe(true);
    expect(blocksText(blocks)).toMatch(/Statement truncated: [\d,]+ of [\d,]+ characters shown/);
    expect(buttonsOf(blocks)).toEqual(['pgwarden_approve', 'pgwarden_deny', 'pgwarden_console']);
  });

  it('continues one very long line across sections instead of dropping it', () => {
    const sql = `SELECT ${Array.from({ length: 800 }, (_, i) => `c${i}`).join(', ')} FROM t`;
    const chunks = codeChunks(blocksOf(request({ sql, normalized: sql })));
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join('')).toBe(sql);
  });

  it('keeps a statement that contains ``` inside its code block', () => {
    const sql = "SELECT '```' AS fence, '*bold* <!channel> <https://evil.example|click>' AS t";
    const blocks = blocksOf(request({ sql, normalized: sql }));
    const statement = mrkdwnTexts(blocks).find((t) => t.startsWith('*Statement*'))!;
    // Exactly two fences: the opening and the closing one.
    expect(statement.match(/```/g)).toHaveLength(2);
    expect(statement).not.toContain('<!channel>');
    expect(codeChunks(blocks)[0]).toBe(sql);
  });

  it('shows agent-written text only as plain_text, so it can neither format, link nor mention', () => {
    const hostile = '*APPROVED* by <@U0ALICE01> — <https://evil.example|open the console> <!here> :white_check_mark:';
    const blocks = blocksOf(request({ statedReason: hostile, actor: { user: hostile, application: hostile, address: '10.0.0.9', owner: hostile }, database: hostile, tables: [hostile] }));
    for (const text of mrkdwnTexts(blocks)) {
      expect(text).not.toContain('<@U0ALICE01>');
      expect(text).not.toContain('<https://evil.example');
      expect(text).not.toContain('<!here>');
    }
    const plain = JSON.stringify(blocks);
    expect(plain).toContain(JSON.stringify({ type: 'plain_text', text: hostile, emoji: false }));
  });

  it('budgets lists and long reasons with "N more, see console"', () => {
    const tables = Array.from({ length: 500 }, (_, i) => `schema_${i}.table_${i}`);
    const blocks = blocksOf(request({ tables, statedReason: 'r'.repeat(5000), ruleReason: 'y'.repeat(5000) }));
    const text = blocksText(blocks);
    expect(text).toMatch(/and \d+ more \(see console\)/);
    expect(text).toMatch(/… \(\d+ more characters, see console\)/);
    expect(validateMessage({ text: 'x', blocks })).toEqual([]);
  });

  it('shows rows and bytes read so far and rows affected when the request carries them', () => {
    const text = blocksText(blocksOf(request({ rowsSoFar: 1000, bytesSoFar: 2_100_000, rowsAffected: 48_213, lockedTables: ['public.orders'] })));
    expect(text).toContain('1,000');
    expect(text).toContain('2.1 MB');
    expect(text).toContain('48,213 (executed, not yet committed)');
    expect(text).toContain('Tables locked while waiting');
    expect(blocksText(blocksOf(request()))).not.toContain('Rows read so far');
  });

  it('with redacted literals shows only the normalized statement', () => {
    const blocks = blocksOf(request({ sql: "SELECT * FROM users WHERE ssn = '123-45-6789'", normalized: 'SELECT * FROM users WHERE ssn = $1' }), { ...CTX, redactLiterals: true });
    expect(JSON.stringify(blocks)).not.toContain('123-45-6789');
    expect(blocksText(blocks)).toContain('(literals redacted)');
  });

  it('once decided shows the outcome, every decision with its reason, and no decision buttons', () => {
    const decisions = Array.from({ length: 9 }, (_, i) => ({ by: `approver${i}@example.com`, decision: 'approve' as const, reason: `reason ${i}`, at: '2026-05-01T10:01:00.000Z', via: 'slack' }));
    const blocks = blocksOf(request({ status: 'approved', decisions, quorum: 9, decidedAt: '2026-05-01T10:01:00.000Z' }));
    const text = blocksText(blocks);
    expect(text).toContain('Approved by approver0@example.com');
    expect(text).toContain('reason 0');
    expect(text).toContain('3 more decisions, see the console');
    expect(buttonsOf(blocks)).toEqual(['pgwarden_console']);
    expect(validateMessage({ text: 'x', blocks })).toEqual([]);
  });

  it('stays valid for any statement, reason and names (property)', () => {
    // Any UTF-16 code unit, lone surrogates included, and the characters that mean something to mrkdwn.
    const unit = fc.oneof(fc.constantFrom('`', '*', '_', '~', '<', '>', '&', '|', '\n', '\r', '\t', ' ', '\ud83d', '\ude00', '😀'), fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)));
    const anyText = fc.string({ unit, maxLength: 9000 });
    fc.assert(
      fc.property(anyText, anyText, fc.string({ unit: 'grapheme', maxLength: 400 }), fc.array(fc.string({ maxLength: 80 }), { maxLength: 60 }), (sql, reason, user, tables) => {
        const r = request({ sql, normalized: sql.slice(0, 100), statedReason: reason, actor: { user, application: user, address: '10.0.0.1' }, tables });
        const message = requestMessage(r, CTX);
        const blocks = message.blocks as unknown as Block[];
        expect(validateMessage({ text: message.text, blocks })).toEqual([]);
        // Every shown code chunk is a piece of the statement, in order.
        let from = 0;
        const shown = sql.replace(/\r\n/g, '\n').replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
        for (const chunk of codeChunks(blocks)) {
          if (chunk === ' ') continue;
          const at = shown.indexOf(chunk, from);
          expect(at).toBeGreaterThanOrEqual(0);
          from = at + chunk.length;
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('the decision modal', () => {
  it('asks a reason (required for deny), offers the scope when the rule allows it, and reads back what was submitted', () => {
    const r = request({ scopes: ['once', 'fingerprint'] });
    const approve = decisionModal(r, { requestId: r.id, decision: 'approve', channel: 'C0APPROVALS' }, false);
    const deny = decisionModal(r, { requestId: r.id, decision: 'deny', channel: 'C0APPROVALS' }, false);
    expect(validateView(approve as unknown as Block)).toEqual([]);
    expect(validateView(deny as unknown as Block)).toEqual([]);
    const inputs = (v: typeof approve) => v.blocks.filter((b) => b.type === 'input').map((b) => [(b as { block_id: string }).block_id, (b as { optional: boolean }).optional]);
    expect(inputs(approve)).toEqual([
      ['reason', true],
      ['scope', false],
    ]);
    expect(inputs(deny)).toEqual([['reason', false]]);
    const submitted = readSubmission({
      ...approve,
      state: { values: { reason: { reason: { value: '  fine  ' } }, scope: { scope: { selected_option: { value: 'fingerprint' } } } } },
    });
    expect(submitted).toEqual({ meta: { requestId: r.id, decision: 'approve', channel: 'C0APPROVALS' }, reason: 'fine', scope: 'fingerprint' });
    expect(readSubmission({ ...approve, callback_id: 'something_else' })).toBeNull();
    expect(readSubmission({ ...approve, private_metadata: '{"r":1}' })).toBeNull();
  });
});
