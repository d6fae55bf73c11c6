// The reply-correlation queue: every backend message attributed to the message it answers, as the server orders them.
import { describe, expect, it } from 'vitest';
import { ReplyKind, ReplyQueue, type ExpectedReply, type NewReply, type ReplyListener } from '../../../src/proxy/replies.js';
import type { Portal, PreparedStatement } from '../../../src/proxy/namespace.js';

function recorder() {
  const events: string[] = [];
  const listener: ReplyListener = {
    confirmed: (e) => events.push(`confirmed ${e.kind}`),
    statementCompleted: (e, i) => events.push(`completed ${e.kind} #${i}`),
    failed: (e, processed) => events.push(`${processed ? 'failed' : 'skipped'} ${e.kind}`),
    ready: (e, status) => events.push(`ready ${e.kind} ${status}`),
  };
  return { events, queue: new ReplyQueue(listener) };
}

const stmt: PreparedStatement = { name: 's', text: 'SELECT 1', facts: undefined, unit: 0, origin: 'parse' };
const portal: Portal = { name: '', statement: stmt, facts: undefined };
const reply = (kind: ExpectedReply['kind'], unit = 0, extra: Partial<NewReply> = {}): NewReply => ({
  kind,
  unit,
  ...(kind === ReplyKind.parse ? { statement: stmt } : {}),
  ...(kind === ReplyKind.bind ? { statement: stmt, portal } : {}),
  ...(kind === ReplyKind.execute ? { portal } : {}),
  ...(kind === ReplyKind.close || kind === ReplyKind.describe ? { target: { kind: 'S' as const, name: 's' } } : {}),
  ...extra,
});
const Z = (s: string) => Buffer.from([0x5a, 0, 0, 0, 5, s.charCodeAt(0)]);
const code = (c: string) => c.charCodeAt(0);

describe('ReplyQueue', () => {
  it('attributes an extended pipeline in order, counting rows and bytes on the Execute', () => {
    const { queue, events } = recorder();
    for (const k of [ReplyKind.parse, ReplyKind.bind, ReplyKind.describe, ReplyKind.execute, ReplyKind.sync]) queue.push(reply(k));
    queue.onBackend(code('1'), 5, null);
    queue.onBackend(code('2'), 5, null);
    queue.onBackend(code('T'), 30, null);
    const execute = queue.first!;
    queue.onBackend(code('D'), 12, null);
    queue.onBackend(code('D'), 14, null);
    expect([execute.rows, execute.bytes]).toEqual([2, 26]);
    queue.onBackend(code('C'), 14, null);
    queue.onBackend(code('Z'), 6, Z('I'));
    expect(events).toEqual(['confirmed parse', 'confirmed bind', 'confirmed execute', 'ready sync I']);
    expect(queue.size).toBe(0);
  });

  it('an error in the extended protocol fails its message and skips the rest up to Sync, which still answers', () => {
    const { queue, events } = recorder();
    for (const k of [ReplyKind.parse, ReplyKind.bind, ReplyKind.execute, ReplyKind.query, ReplyKind.sync, ReplyKind.parse]) queue.push(reply(k));
    queue.onBackend(code('E'), 20, null);
    expect(events).toEqual(['failed parse', 'skipped bind', 'skipped execute', 'skipped query']);
    expect(queue.first?.kind).toBe(ReplyKind.sync);
    queue.onBackend(code('Z'), 6, Z('I'));
    expect(queue.first?.kind).toBe(ReplyKind.parse);
  });

  it('an error before the Sync was forwarded makes later messages until Sync expect nothing', () => {
    const { queue } = recorder();
    queue.push(reply(ReplyKind.parse));
    queue.onBackend(code('E'), 20, null);
    queue.push(reply(ReplyKind.bind));
    queue.push(reply(ReplyKind.execute));
    expect(queue.size).toBe(0);
    queue.push(reply(ReplyKind.sync));
    expect(queue.first?.kind).toBe(ReplyKind.sync);
  });

  it('a Query completes statement by statement and keeps its place after an error until ReadyForQuery', () => {
    const { queue, events } = recorder();
    queue.push(reply(ReplyKind.query));
    queue.onBackend(code('T'), 20, null);
    queue.onBackend(code('C'), 15, null);
    queue.onBackend(code('C'), 15, null);
    queue.onBackend(code('E'), 40, null);
    queue.onBackend(code('Z'), 6, Z('E'));
    expect(events).toEqual(['completed query #0', 'completed query #1', 'ready query E']);
  });

  it('COPY FROM STDIN: a Sync sent during the copy is ignored by the server, CopyDone ends it', () => {
    const { queue } = recorder();
    queue.push(reply(ReplyKind.execute));
    queue.push(reply(ReplyKind.sync));
    queue.onBackend(code('G'), 10, null);
    queue.push(reply(ReplyKind.copyEnd));
    queue.push(reply(ReplyKind.sync));
    queue.onBackend(code('C'), 12, null);
    expect(queue.first?.kind).toBe(ReplyKind.sync);
    expect(queue.size).toBe(1);
  });

  it('COPY FROM STDIN: any other message ends the copy with an error and is never answered', () => {
    const { queue, events } = recorder();
    queue.push(reply(ReplyKind.query, 0));
    queue.push(reply(ReplyKind.query, 1));
    queue.onBackend(code('G'), 10, null);
    expect(events).toEqual(['skipped query']);
    queue.onBackend(code('E'), 30, null);
    queue.onBackend(code('Z'), 6, Z('I'));
    expect(queue.size).toBe(0);
  });

  it("swaps the ErrorResponse of pgwarden's own refusal marker for the refusal", () => {
    const { queue } = recorder();
    const error = Buffer.from('E-pgwarden');
    queue.push(reply(ReplyKind.bind, 0, { refusal: { marker: 'pgwarden_refused_ab', error } }));
    expect(queue.errorNeedsBody).toBe(true);
    const server = Buffer.from('E....prepared statement "pgwarden_refused_ab" does not exist');
    expect(queue.onBackend(code('E'), server.length, server)).toBe(error);
  });

  it('a reply nothing expects means pgwarden lost step with the server: it throws (the session closes)', () => {
    const { queue } = recorder();
    queue.push(reply(ReplyKind.sync));
    expect(() => queue.onBackend(code('1'), 5, null)).toThrow(/lost step/);
  });
});
