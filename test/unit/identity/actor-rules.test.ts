// Rules on actor.identity, actor.groups and actor.auth; the verdict cache never shares a verdict between actors that
// differ in them; who counts as the requester; how cards name the requester.
import { describe, expect, it } from 'vitest';
import { parseRules } from '../../../src/policy/load.js';
import { VerdictCache } from '../../../src/policy/cache.js';
import { describeAuth, describeRequester, requesterIdentities } from '../../../src/approvals/identity.js';
import { toApiJson } from '../../../src/approvals/api-shape.js';
import type { Actor } from '../../../src/policy/verdict.js';
import { session, stmt, text } from '../policy/build-facts.js';

const POLICY = `
version: 1
rules:
  - id: interns-read-only
    match: { category: [write], actor: { groups: [interns, "contractors-*"] } }
    action: deny
  - id: passthrough-no-ddl
    match: { category: [ddl], actor: { auth: [passthrough] } }
    action: deny
  - id: agent-7-reviewed
    match: { category: [ddl], actor: { identity: "agent-7*" } }
    action: review
    approvers: [bob@example.com]
`;

const base: Actor = { user: 'agent-7', application: '', address: '10.0.0.1' };
const scram = (over: Partial<Actor> = {}): Actor => ({ ...base, identity: 'agent-7', groups: ['agents'], auth: 'scram', ...over });

describe('actor.identity, actor.groups, actor.auth', () => {
  const rs = parseRules(POLICY);
  const write = text(stmt('InsertStmt', ['write']));
  const ddl = text(stmt('CreateStmt', ['ddl']));

  it('matches any group against any glob', () => {
    expect(rs.evaluate(write, scram({ groups: ['agents', 'interns'] }), session()).rule).toBe('interns-read-only');
    expect(rs.evaluate(write, scram({ groups: ['contractors-eu'] }), session()).rule).toBe('interns-read-only');
    expect(rs.evaluate(write, scram(), session()).action).toBe('allow');
    expect(rs.evaluate(write, base, session()).action).toBe('allow');
  });

  it('treats an actor without auth as passthrough, and matches the identity (falling back to the user name)', () => {
    expect(rs.evaluate(ddl, base, session()).rule).toBe('passthrough-no-ddl');
    expect(rs.evaluate(ddl, scram(), session())).toMatchObject({ action: 'review', rule: 'agent-7-reviewed' });
    expect(rs.evaluate(ddl, scram({ identity: 'agent-8', user: 'agent-8' }), session()).action).toBe('allow');
  });

  it('explains the match in the reason', () => {
    expect(rs.evaluate(ddl, scram(), session()).reason).toBe('rule agent-7-reviewed: category ddl, actor.identity agent-7* matched');
  });

  it('rejects an unknown auth method at load, naming the choices', () => {
    expect(() => parseRules('version: 1\nrules:\n  - id: x\n    match: { actor: { auth: [ldap] } }\n    action: deny\n')).toThrow(/unknown authentication method 'ldap'.*passthrough, scram, oidc/);
  });

  it('never serves one actor a verdict cached for another that differs only in groups or auth', () => {
    const cache = new VerdictCache();
    expect(cache.evaluate(rs, write, scram(), session()).action).toBe('allow');
    expect(cache.evaluate(rs, write, scram({ groups: ['interns'] }), session()).action).toBe('deny');
    expect(cache.evaluate(rs, ddl, scram(), session()).action).toBe('review');
    expect(cache.evaluate(rs, ddl, scram({ auth: 'passthrough' }), session()).action).toBe('deny');
  });
});

describe('requester and its description', () => {
  it('refuses the user, the identity and the owner as approvers, case-insensitively', () => {
    expect(requesterIdentities({ user: 'Agent-7', identity: 'agent-7', owner: 'Alice@Example.com' })).toEqual(['agent-7', 'alice@example.com']);
    expect(requesterIdentities({ user: 'agent-7', identity: 'spiffe://x/agent-7' })).toEqual(['agent-7', 'spiffe://x/agent-7']);
  });

  it('says "agent-7, owned by alice@example.com" and how the identity was established', () => {
    expect(describeRequester({ user: 'agent-7', identity: 'agent-7', owner: 'alice@example.com' })).toBe('agent-7, owned by alice@example.com');
    expect(describeRequester({ user: 'app' })).toBe('app');
    expect(describeAuth({ auth: 'oidc', groups: ['agents'] })).toBe('OIDC token; groups agents');
    expect(describeAuth({ auth: 'passthrough' })).toBeNull();
  });

  it('puts identity, groups and auth in the API shape (passthrough defaults for old records)', () => {
    const shape = toApiJson({ sql: '', normalized: '', actor: { user: 'u', application: '', address: '' }, decisions: [], categories: [], tables: [], approvers: [], groups: [], scopes: [] } as never);
    expect(shape.actor).toEqual({ user: 'u', application: '', address: '', owner: null, identity: 'u', groups: [], auth: 'passthrough' });
  });
});
