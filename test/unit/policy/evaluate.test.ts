import { describe, expect, it } from 'vitest';
import { parseRules } from '../../../src/policy/load.js';
import { agent, session, stmt, text, unparsed } from './build-facts.js';

const POLICY = `
version: 1
defaults: { action: allow, on_unknown: review, review: { approvers: [dba] } }
groups: { dba: [dba@example.com], security: [sec1@example.com, sec2@example.com] }
rules:
  - id: grants
    match: { category: [grant] }
    action: review
    approvers: [security]
    quorum: 2
  - id: privileged
    match: { category: [privileged] }
    action: deny
    message: privileged operations are not allowed
  - id: ddl
    match: { category: [ddl], actor: { user: "agent_*" } }
    action: review
`;

describe('evaluate: first match per statement, defaults, strictest across statements', () => {
  const rs = parseRules(POLICY);

  it('allows what no rule matches by defaults.action, naming no rule', () => {
    expect(rs.evaluate(text(stmt('SelectStmt', ['read'])), agent, session())).toEqual({ action: 'allow', rule: null, reason: 'no rule matched; defaults.action is allow', statementIndex: 0 });
  });

  it('denies with the rule message', () => {
    const v = rs.evaluate(text(stmt('CopyStmt', ['export', 'privileged'])), agent, session());
    expect(v).toMatchObject({ action: 'deny', rule: 'privileged', reason: 'privileged operations are not allowed' });
  });

  it('review carries approvers with groups expanded, quorum, timeout and scope; the reason names the category', () => {
    const v = rs.evaluate(text(stmt('GrantStmt', ['grant'])), agent, session());
    expect(v).toEqual({
      action: 'review',
      rule: 'grants',
      reason: 'rule grants: category grant matched',
      statementIndex: 0,
      review: { approvers: ['sec1@example.com', 'sec2@example.com'], groups: ['security'], quorum: 2, timeoutMs: 300_000, scopes: ['once'], grantTtlMs: 0 },
    });
  });

  it('actor globs narrow a rule', () => {
    const ddl = text(stmt('DropStmt', ['ddl']));
    expect(rs.evaluate(ddl, agent, session()).rule).toBe(null);
    expect(rs.evaluate(ddl, { ...agent, user: 'agent_7' }, session())).toMatchObject({ action: 'review', rule: 'ddl', reason: 'rule ddl: category ddl, actor.user agent_* matched' });
  });

  it('the strictest statement decides and is named by statementIndex', () => {
    const v = rs.evaluate(text(stmt('SelectStmt', ['read']), stmt('GrantStmt', ['grant']), stmt('CopyStmt', ['privileged']), stmt('SelectStmt', ['read'])), agent, session());
    expect(v).toMatchObject({ action: 'deny', rule: 'privileged', statementIndex: 2 });
  });

  it('between two reviews the more sensitive category wins', () => {
    const v = rs.evaluate(text(stmt('DropStmt', ['ddl']), stmt('GrantStmt', ['grant'])), { ...agent, user: 'agent_7' }, session());
    expect(v).toMatchObject({ action: 'review', rule: 'grants', statementIndex: 1 });
  });

  it('text that did not parse goes to defaults.on_unknown with the parser message (fail closed)', () => {
    const v = rs.evaluate(unparsed(), agent, session());
    expect(v).toMatchObject({ action: 'review', rule: null, statementIndex: 0 });
    expect(v.reason).toBe('the statement did not parse (category unknown); defaults.on_unknown is review — syntax error at or near "SELEC"');
    expect(v.review?.approvers).toEqual(['dba@example.com']);
  });

  it('an empty text is allowed', () => {
    expect(rs.evaluate(text(), agent, session())).toMatchObject({ action: 'allow', rule: null, reason: 'empty query' });
  });
});

describe('evaluate: unknown statements and allow rules', () => {
  const rs = parseRules(`
rules:
  - id: admin-anything
    match: { actor: { user: admin } }
    action: allow
  - id: block-bob
    match: { actor: { user: bob } }
    action: deny
  - id: trust-migrator
    match: { category: [unknown, ddl], actor: { user: migrator } }
    action: allow
`);
  it('an allow rule that does not name category unknown skips unparsed text', () => {
    expect(rs.evaluate(unparsed(), { ...agent, user: 'admin' }, session())).toMatchObject({ action: 'review', rule: null });
  });
  it('deny rules without a category still catch unparsed text', () => {
    expect(rs.evaluate(unparsed(), { ...agent, user: 'bob' }, session())).toMatchObject({ action: 'deny', rule: 'block-bob' });
  });
  it('an allow rule that names unknown takes it', () => {
    expect(rs.evaluate(unparsed(), { ...agent, user: 'migrator' }, session())).toMatchObject({ action: 'allow', rule: 'trust-migrator', reason: 'rule trust-migrator: category unknown, actor.user migrator matched' });
  });
});

describe('match keys', () => {
  const rs = parseRules(`
version: 1
rules:
  - id: pii
    match: { columns: [customers.email, "*.ssn"], not: { actor: { application: [support-*] } } }
    action: deny
  - id: copy-kind
    match: { kind: copy }
    action: review
    approvers: [x@example.com]
  - id: node-kind
    match: { kind: [TruncateStmt] }
    action: deny
  - id: hr
    match: { tables: [hr.*] }
    action: deny
  - id: audit-fn
    match: { functions: [pg_read_*] }
    action: deny
  - id: analytics-db
    match: { database: [analytics*], bounded: false, category: read }
    action: review
    approvers: [x@example.com]
  - id: office-only
    match: { category: write, not: { actor: { address: [10.0.0.0/8, "fd00::/8"] } } }
    action: deny
`);
  const s = session();

  it('columns: qualified patterns need a matching table; * columns count; aliases are not resolved (errs towards matching)', () => {
    const read = (cols: string[], tables: string[]) => rs.evaluate(text(stmt('SelectStmt', ['read'], { columns: cols, tables, bounded: true })), agent, s).rule;
    expect(read(['email'], ['customers'])).toBe('pii');
    expect(read(['c.email'], ['public.customers'])).toBe('pii');
    expect(read(['*'], ['customers'])).toBe('pii');
    expect(read(['email'], ['staff'])).toBe(null);
    expect(read(['ssn'], ['staff'])).toBe('pii');
    expect(rs.evaluate(text(stmt('UpdateStmt', ['write'], { columnsWritten: ['ssn'], tables: ['staff'] })), agent, s).rule).toBe('pii');
  });

  it('not: an exception removes matches', () => {
    const facts = text(stmt('SelectStmt', ['read'], { columns: ['email'], tables: ['customers'], bounded: true }));
    expect(rs.evaluate(facts, { ...agent, application: 'support-copilot' }, s).rule).toBe(null);
  });

  it('kind: aliases and node names', () => {
    expect(rs.evaluate(text(stmt('CopyStmt', ['export'])), agent, s).rule).toBe('copy-kind');
    expect(rs.evaluate(text(stmt('TruncateStmt', ['ddl'])), agent, s).rule).toBe('node-kind');
  });

  it('tables: schema-aware; an unqualified name may be in any schema', () => {
    const t = (tables: string[]) => rs.evaluate(text(stmt('SelectStmt', ['read'], { tables, bounded: true })), agent, s).rule;
    expect(t(['hr.salaries'])).toBe('hr');
    expect(t(['HR.Salaries'])).toBe('hr');
    expect(t(['public.salaries'])).toBe(null);
    expect(t(['salaries'])).toBe(null); // hr.* does not claim every unqualified name
    expect(t(['mydb.hr.salaries'])).toBe('hr');
  });

  it('tables: the pattern semantics of docs/rules.md', () => {
    const r = parseRules(`
rules:
  - { id: literal, match: { tables: [hr.salaries] }, action: deny }
  - { id: public-all, match: { tables: [public.*] }, action: deny }
  - { id: any-schema, match: { tables: ["*.users"] }, action: deny }
  - { id: bare, match: { tables: [orders] }, action: deny }
`);
    const t = (name: string) => r.evaluate(text(stmt('SelectStmt', ['read'], { tables: [name] })), agent, s).rule;
    expect(t('salaries')).toBe('literal'); // SET search_path = hr cannot hide it
    expect(t('hr.salaries')).toBe('literal');
    expect(t('widgets')).toBe('public-all');
    expect(t('public.widgets')).toBe('public-all');
    expect(t('app.users')).toBe('any-schema');
    expect(t('app.orders')).toBe('bare');
    expect(t('app.widgets')).toBe(null);
  });

  it('only_tables: every table must match, and there must be one', () => {
    const r = parseRules('rules:\n  - { id: scratch, match: { only_tables: [scratch.*] }, action: allow }\n');
    const t = (tables: string[]) => r.evaluate(text(stmt('InsertStmt', ['write'], { tables })), agent, s).rule;
    expect(t(['scratch.a', 'scratch.b'])).toBe('scratch');
    expect(t(['scratch.a', 'public.orders'])).toBe(null);
    expect(t(['a'])).toBe(null);
    expect(t([])).toBe(null);
  });

  it('functions: unqualified patterns match any schema', () => {
    expect(rs.evaluate(text(stmt('SelectStmt', ['read'], { functions: ['pg_catalog.pg_read_file'], bounded: true })), agent, s).rule).toBe('audit-fn');
  });

  it('database and bounded', () => {
    const unbounded = text(stmt('SelectStmt', ['read']));
    expect(rs.evaluate(unbounded, agent, session({ database: 'analytics_eu' })).rule).toBe('analytics-db');
    expect(rs.evaluate(unbounded, agent, session({ database: 'app' })).rule).toBe(null);
  });

  it('actor.address: CIDR for IPv4, IPv4-mapped IPv6 and IPv6', () => {
    const w = text(stmt('InsertStmt', ['write']));
    expect(rs.evaluate(w, { ...agent, address: '10.9.8.7' }, s).rule).toBe(null);
    expect(rs.evaluate(w, { ...agent, address: '::ffff:10.9.8.7' }, s).rule).toBe(null);
    expect(rs.evaluate(w, { ...agent, address: 'fd00::1' }, s).rule).toBe(null);
    expect(rs.evaluate(w, { ...agent, address: '192.168.1.1' }, s).rule).toBe('office-only');
    expect(rs.evaluate(w, { ...agent, address: '' }, s).rule).toBe('office-only');
  });
});

describe('time windows', () => {
  const rs = parseRules(`
rules:
  - id: business-hours-ddl
    match: { category: ddl, time: { days: [mon-fri], from: "09:00", to: "18:00", zone: Europe/Berlin } }
    action: review
    approvers: [x@example.com]
  - id: night-writes
    match: { category: write, time: [{ from: "22:00", to: "06:00", zone: America/New_York, days: [fri] }] }
    action: deny
  - id: ddl-otherwise
    match: { category: ddl }
    action: deny
`);
  const ddl = text(stmt('DropStmt', ['ddl']));
  const write = text(stmt('InsertStmt', ['write']));
  const at = (iso: string) => session({ now: new Date(iso) });

  it('matches inside the window in its own time zone', () => {
    expect(rs.evaluate(ddl, agent, at('2026-03-04T08:30:00Z')).rule).toBe('business-hours-ddl'); // Wed 09:30 Berlin
    expect(rs.evaluate(ddl, agent, at('2026-03-04T07:30:00Z')).rule).toBe('ddl-otherwise'); // 08:30 Berlin
    expect(rs.evaluate(ddl, agent, at('2026-03-07T10:00:00Z')).rule).toBe('ddl-otherwise'); // Saturday
    expect(rs.evaluate(ddl, agent, at('2026-07-01T15:59:00Z')).rule).toBe('business-hours-ddl'); // 17:59 CEST
  });

  it('a window past midnight belongs to its start day', () => {
    expect(rs.evaluate(write, agent, at('2026-03-07T04:00:00Z')).rule).toBe('night-writes'); // Fri 23:00 New York
    expect(rs.evaluate(write, agent, at('2026-03-07T10:00:00Z')).rule).toBe('night-writes'); // Sat 05:00 New York
    expect(rs.evaluate(write, agent, at('2026-03-08T10:00:00Z')).rule).toBe(null); // Sun 06:00
    expect(rs.evaluate(write, agent, at('2026-03-06T10:00:00Z')).rule).toBe(null); // Fri 05:00, window of Thu
  });

  it('marks time-dependent rules and reports when the clock was consulted', () => {
    expect(rs.hasTimeRules).toBe(true);
    expect(rs.rules.map((r) => r.isTimeDependent)).toEqual([true, true, false]);
    const probe = { consultedTime: false };
    rs.evaluate(text(stmt('SelectStmt', ['read'])), agent, session(), probe);
    expect(probe.consultedTime).toBe(false);
    rs.evaluate(ddl, agent, session(), probe);
    expect(probe.consultedTime).toBe(true);
  });
});

describe('scope and defaults', () => {
  it('scope shorthand and defaults.review inheritance', () => {
    const rs = parseRules(`
defaults: { action: deny, message: "only listed statements run here", review: { approvers: [a@example.com], timeout: 90s, scope: { allow: [fingerprint], ttl: 2h } } }
rules:
  - id: reads
    match: { category: read }
    action: allow
  - id: exports
    match: { category: export }
    action: review
  - id: writes
    match: { category: write }
    action: review
    scope: once
    timeout: 1m
`);
    expect(rs.evaluate(text(stmt('CopyStmt', ['export'])), agent, session()).review).toEqual({ approvers: ['a@example.com'], groups: [], quorum: 1, timeoutMs: 90_000, scopes: ['once', 'fingerprint'], grantTtlMs: 7_200_000 });
    expect(rs.evaluate(text(stmt('InsertStmt', ['write'])), agent, session()).review).toMatchObject({ timeoutMs: 60_000, scopes: ['once'], grantTtlMs: 0 });
    expect(rs.evaluate(text(stmt('DropStmt', ['ddl'])), agent, session())).toEqual({ action: 'deny', rule: null, reason: 'only listed statements run here', statementIndex: 0 });
  });
});
