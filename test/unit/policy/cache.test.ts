import { describe, expect, it } from 'vitest';
import { VerdictCache } from '../../../src/policy/cache.js';
import { parseRules } from '../../../src/policy/load.js';
import { agent, session, stmt, text } from './build-facts.js';

const rules = parseRules(`
rules:
  - { id: bob, match: { actor: { user: bob } }, action: deny }
  - { id: night, match: { category: write, time: { from: "22:00", to: "06:00" } }, action: deny }
  - { id: prod, match: { database: prod, category: ddl }, action: deny }
`);

describe('VerdictCache', () => {
  it('remembers per facts, actor and database', () => {
    const cache = new VerdictCache();
    const facts = text(stmt('SelectStmt', ['read']));
    const first = cache.evaluate(rules, facts, agent, session());
    expect(cache.evaluate(rules, facts, agent, session())).toBe(first);
    expect(cache.hits).toBe(1);
    expect(cache.evaluate(rules, facts, { ...agent, user: 'bob' }, session()).rule).toBe('bob');
    const ddl = text(stmt('DropStmt', ['ddl']));
    expect(cache.evaluate(rules, ddl, agent, session({ database: 'prod' })).rule).toBe('prod');
    expect(cache.evaluate(rules, ddl, agent, session({ database: 'dev' })).rule).toBe(null);
    expect(cache.evaluate(rules, ddl, agent, session({ database: 'prod' })).rule).toBe('prod');
  });

  it('never keeps a verdict that consulted a time window', () => {
    const cache = new VerdictCache();
    const write = text(stmt('InsertStmt', ['write']));
    expect(cache.evaluate(rules, write, agent, session({ now: new Date('2026-03-04T23:00:00Z') })).rule).toBe('night');
    expect(cache.evaluate(rules, write, agent, session({ now: new Date('2026-03-04T12:00:00Z') })).rule).toBe(null);
    expect(cache.hits).toBe(0);
  });

  it('starts empty when the rule set changes (reload)', () => {
    const cache = new VerdictCache();
    const facts = text(stmt('SelectStmt', ['read']));
    expect(cache.evaluate(rules, facts, agent, session()).action).toBe('allow');
    const stricter = parseRules('defaults: { action: deny }\nrules: []\n');
    expect(cache.evaluate(stricter, facts, agent, session()).action).toBe('deny');
  });
});
