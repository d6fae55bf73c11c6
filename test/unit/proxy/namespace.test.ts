// Prepared statements and portals as the server confirmed them, and names resolved while replies are in flight.
import { describe, expect, it } from 'vitest';
import { loadSqlParser } from '../../../src/sql/parse.js';
import { Namespace, type Portal, type PreparedStatement } from '../../../src/proxy/namespace.js';
import { ReplyKind, ReplyQueue, type NewReply } from '../../../src/proxy/replies.js';
import { effectsOf } from '../../../src/proxy/session-effects.js';

await loadSqlParser();

const statement = (name: string, text: string, unit: number): PreparedStatement => ({ name, text, facts: undefined, unit, origin: 'parse' });
const Z = (s: string) => Buffer.from([0x5a, 0, 0, 0, 5, s.charCodeAt(0)]);
const c = (ch: string) => ch.charCodeAt(0);

function setup() {
  const ns = new Namespace();
  const q = new ReplyQueue(ns);
  const push = (r: NewReply) => q.push(r);
  const resolveS = (name: string, unit: number) => ns.resolveStatement(name, unit, q);
  const resolveP = (name: string, unit: number) => ns.resolvePortal(name, unit, q);
  return { ns, q, push, resolveS, resolveP };
}

describe('Namespace', () => {
  it('a Parse in flight resolves within its own unit, waits from a later one, and is known once confirmed', () => {
    const { q, push, resolveS } = setup();
    const s1 = statement('s1', 'COPY t TO STDOUT', 0);
    push({ kind: ReplyKind.parse, unit: 0, statement: s1 });
    expect(resolveS('s1', 0)).toBe(s1);
    push({ kind: ReplyKind.sync, unit: 0 });
    expect(resolveS('s1', 1)).toBe('wait');
    q.onBackend(c('1'), 5, null);
    q.onBackend(c('Z'), 6, Z('I'));
    expect(resolveS('s1', 1)).toBe(s1);
  });

  it('a re-Parse the server rejects leaves the old statement', () => {
    const { q, push, resolveS } = setup();
    const copy = statement('s1', 'COPY t TO STDOUT', 0);
    push({ kind: ReplyKind.parse, unit: 0, statement: copy });
    q.onBackend(c('1'), 5, null);
    push({ kind: ReplyKind.parse, unit: 1, statement: statement('s1', 'SELECT 1', 1) });
    push({ kind: ReplyKind.sync, unit: 1 });
    q.onBackend(c('E'), 30, null);
    q.onBackend(c('Z'), 6, Z('I'));
    expect(resolveS('s1', 2)).toBe(copy);
  });

  it('a rejected Parse of the unnamed statement leaves none (the server drops it first)', () => {
    const { q, push, resolveS } = setup();
    push({ kind: ReplyKind.parse, unit: 0, statement: statement('', 'COPY t TO STDOUT', 0) });
    q.onBackend(c('1'), 5, null);
    push({ kind: ReplyKind.parse, unit: 1, statement: statement('', 'SELECT * FROM nope', 1) });
    q.onBackend(c('E'), 30, null);
    expect(resolveS('', 2)).toBe('missing');
  });

  it('a Close in flight from an earlier unit makes a Bind wait; confirmed, the name is gone', () => {
    const { q, push, resolveS } = setup();
    push({ kind: ReplyKind.parse, unit: 0, statement: statement('s', 'SELECT 1', 0) });
    q.onBackend(c('1'), 5, null);
    push({ kind: ReplyKind.close, unit: 1, target: { kind: 'S', name: 's' } });
    push({ kind: ReplyKind.sync, unit: 1 });
    expect(resolveS('s', 2)).toBe('wait');
    q.onBackend(c('3'), 5, null);
    q.onBackend(c('Z'), 6, Z('I'));
    expect(resolveS('s', 2)).toBe('missing');
  });

  it('SQL PREPARE / DEALLOCATE / DISCARD ALL in a Query change names as each statement completes', () => {
    const { q, push, resolveS, ns } = setup();
    const text = 'PREPARE p AS SELECT 1; PREPARE q AS SELECT 2; DEALLOCATE p';
    push({ kind: ReplyKind.query, unit: 0, effects: effectsOf(text, undefined) });
    expect(resolveS('p', 1)).toBe('wait');
    q.onBackend(c('C'), 12, null);
    q.onBackend(c('C'), 12, null);
    q.onBackend(c('C'), 15, null);
    q.onBackend(c('Z'), 6, Z('I'));
    expect(ns.statementNames()).toEqual(['q']);
    expect(resolveS('q', 1)).toMatchObject({ origin: 'sql', text: 'PREPARE q AS SELECT 2' });
    push({ kind: ReplyKind.query, unit: 1, effects: effectsOf('DISCARD ALL', undefined) });
    q.onBackend(c('C'), 12, null);
    q.onBackend(c('Z'), 6, Z('I'));
    expect(ns.statementNames()).toEqual([]);
  });

  it('a Query that fails after its first statement keeps only what completed', () => {
    const { q, push, ns } = setup();
    push({ kind: ReplyKind.query, unit: 0, effects: effectsOf('PREPARE a AS SELECT 1; PREPARE b AS SELECT 1/0; PREPARE c AS SELECT 3', undefined) });
    q.onBackend(c('C'), 12, null);
    q.onBackend(c('E'), 30, null);
    q.onBackend(c('Z'), 6, Z('I'));
    expect(ns.statementNames()).toEqual(['a']);
  });

  it('portals live until their transaction ends: a Sync outside a block drops them, inside one keeps them', () => {
    const { q, push, resolveP } = setup();
    const s = statement('s', 'SELECT 1', 0);
    const portal: Portal = { name: 'p', statement: s, facts: undefined };
    push({ kind: ReplyKind.bind, unit: 0, statement: s, portal });
    expect(resolveP('p', 0)).toBe(portal);
    push({ kind: ReplyKind.sync, unit: 0 });
    q.onBackend(c('2'), 5, null);
    expect(resolveP('p', 1)).toBe('wait'); // the Sync may end the transaction
    q.onBackend(c('Z'), 6, Z('T'));
    expect(resolveP('p', 1)).toBe(portal);
    push({ kind: ReplyKind.sync, unit: 1 });
    q.onBackend(c('Z'), 6, Z('I'));
    expect(resolveP('p', 2)).toBe('missing');
  });
});
