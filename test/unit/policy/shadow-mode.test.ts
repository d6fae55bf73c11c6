// Shadow mode (rule `mode: shadow`, `defaults.mode: shadow`) and the `fingerprint` match key.
import { describe, expect, it } from 'vitest';
import { RuleFileError } from '../../../src/errors.js';
import { parseRules } from '../../../src/policy/load.js';
import { VerdictCache } from '../../../src/policy/cache.js';
import { agent, session, stmt, text, unparsed } from './build-facts.js';

const POLICY = `
version: 1
defaults: { action: allow, on_unknown: review, review: { approvers: [dba@example.com] } }
rules:
  - id: no-orders-delete
    mode: shadow
    match: { kind: delete, tables: [orders] }
    action: deny
    message: deleting orders is about to be refused
  - id: writes-review
    match: { category: write, tables: [orders] }
    action: review
  - id: drop-deny
    match: { kind: drop }
    action: deny
  - id: drop-shadow
    mode: shadow
    match: { kind: drop }
    action: review
`;

describe('shadow-mode rules: recorded as Verdict.shadow, never enforced', () => {
  const rs = parseRules(POLICY);
  const del = text(stmt('DeleteStmt', ['write'], { tables: ['orders'] }));

  it('a matching shadow rule does not stop later enforce rules: the enforced verdict ignores it', () => {
    const v = rs.evaluate(del, agent, session());
    expect(v).toMatchObject({ action: 'review', rule: 'writes-review' });
    expect(v.shadow).toEqual({ action: 'deny', rule: 'no-orders-delete', reason: 'deleting orders is about to be refused', statementIndex: 0, source: 'policy' });
  });

  it('a statement no shadow rule matches carries no shadow verdict', () => {
    const v = rs.evaluate(text(stmt('UpdateStmt', ['write'], { tables: ['orders'] })), agent, session());
    expect(v.action).toBe('review');
    expect(v.shadow).toBeUndefined();
  });

  it('a shadow rule after the enforce rule that decides changes nothing (the whole policy agrees)', () => {
    const v = rs.evaluate(text(stmt('DropStmt', ['ddl'])), agent, session());
    expect(v).toMatchObject({ action: 'deny', rule: 'drop-deny' });
    expect(v.shadow).toBeUndefined();
  });

  it('a shadow allow rule before an enforce review records that the statement would have run', () => {
    const rs2 = parseRules(`
rules:
  - id: trusted-delete
    mode: shadow
    match: { kind: delete, actor: { user: etl } }
    action: allow
  - id: writes-review
    match: { category: write }
    action: review
`);
    const v = rs2.evaluate(del, { ...agent, user: 'etl' }, session());
    expect(v).toMatchObject({ action: 'review', rule: 'writes-review', shadow: { action: 'allow', rule: 'trusted-delete' } });
    expect(rs2.evaluate(del, agent, session()).shadow).toBeUndefined();
  });

  it('multi-statement texts: each verdict is the strictest of its own evaluation', () => {
    const v = rs.evaluate(text(stmt('SelectStmt', ['read']), stmt('DeleteStmt', ['write'], { tables: ['orders'] })), agent, session());
    expect(v).toMatchObject({ action: 'review', rule: 'writes-review', statementIndex: 1, shadow: { action: 'deny', rule: 'no-orders-delete', statementIndex: 1 } });
  });

  it('a rule set without shadow rules reports hasShadow false and never sets shadow', () => {
    const plain = parseRules('rules:\n  - id: d\n    match: { kind: delete }\n    action: deny\n');
    expect(plain.hasShadow).toBe(false);
    expect(rs.hasShadow).toBe(true);
    expect(plain.evaluate(del, agent, session()).shadow).toBeUndefined();
  });

  it('the verdict cache keeps the shadow verdict with the enforced one', () => {
    const cache = new VerdictCache();
    const first = cache.evaluate(rs, del, agent, session());
    const second = cache.evaluate(rs, del, agent, session());
    expect(second).toBe(first);
    expect(second.shadow?.rule).toBe('no-orders-delete');
  });

  it('an enforce rule covered by an earlier shadow rule is not reported as dead; a shadow rule covered by an earlier rule is', () => {
    expect(rs.warnings.join('\n')).toContain("rule 'drop-shadow' can never match");
    expect(rs.warnings.join('\n')).not.toContain("'writes-review' can never match");
  });
});

describe('defaults.mode: shadow — the whole policy is watched, only mode: enforce rules act', () => {
  const rs = parseRules(`
defaults: { action: deny, on_unknown: review, mode: shadow }
rules:
  - id: reads
    match: { category: read }
    action: allow
  - id: privileged
    mode: enforce
    match: { category: privileged }
    action: deny
  - id: ddl
    match: { category: ddl }
    action: review
`);

  it('a rule without its own mode is shadow; a statement only it matches runs', () => {
    const v = rs.evaluate(text(stmt('CreateStmt', ['ddl'])), agent, session());
    expect(v).toMatchObject({ action: 'allow', rule: null, reason: 'no enforced rule matched (defaults.mode is shadow)' });
    expect(v.shadow).toMatchObject({ action: 'review', rule: 'ddl' });
  });

  it('the defaults are shadow too: deny-by-default is recorded, not enforced', () => {
    const v = rs.evaluate(text(stmt('InsertStmt', ['write'])), agent, session());
    expect(v.action).toBe('allow');
    expect(v.shadow).toMatchObject({ action: 'deny', rule: null });
  });

  it('an unparsable statement runs and its on_unknown verdict is recorded', () => {
    const v = rs.evaluate(unparsed(), agent, session());
    expect(v.action).toBe('allow');
    expect(v.shadow).toMatchObject({ action: 'review', rule: null });
    expect(v.shadow?.reason).toContain('syntax error');
  });

  it('a mode: enforce rule is enforced', () => {
    const v = rs.evaluate(text(stmt('CopyStmt', ['privileged'])), agent, session());
    expect(v).toMatchObject({ action: 'deny', rule: 'privileged' });
    expect(v.shadow).toBeUndefined();
  });

  it('a statement both evaluations allow carries no shadow verdict, whichever rule allowed it', () => {
    const v = rs.evaluate(text(stmt('SelectStmt', ['read'])), agent, session());
    expect(v).toEqual({ action: 'allow', rule: null, reason: 'no enforced rule matched (defaults.mode is shadow)', statementIndex: 0 });
  });

  it('a deny by another rule than the enforced deny is reported (another message reaches the agent)', () => {
    const rs2 = parseRules('rules:\n  - id: new-deny\n    mode: shadow\n    match: { kind: drop }\n    action: deny\n    message: new wording\n  - id: old-deny\n    match: { kind: drop }\n    action: deny\n');
    expect(rs2.evaluate(text(stmt('DropStmt', ['ddl'])), agent, session())).toMatchObject({ rule: 'old-deny', shadow: { action: 'deny', rule: 'new-deny', reason: 'new wording' } });
  });
});

describe('mode and fingerprint in rule files', () => {
  it('refuses an unknown mode with the choices', () => {
    expect(() => parseRules('rules:\n  - id: x\n    mode: shdow\n    action: deny\n')).toThrow(RuleFileError);
    expect(() => parseRules('rules:\n  - id: x\n    mode: shdow\n    action: deny\n')).toThrow(/unknown mode 'shdow' \(did you mean 'shadow'\?\) — expected one of enforce, shadow/);
  });

  it('matches a statement by its own fingerprint, case-insensitively as written', () => {
    const rs = parseRules(`rules:\n  - id: fp\n    match: { fingerprint: ["3DC0C42F8B08AD85", "0000000000000001"] }\n    action: deny\n`);
    expect(rs.evaluate(text(stmt('SelectStmt', ['read'], { fingerprint: '3dc0c42f8b08ad85' })), agent, session())).toMatchObject({ action: 'deny', rule: 'fp' });
    expect(rs.evaluate(text(stmt('SelectStmt', ['read'], { fingerprint: '3dc0c42f8b08ad86' })), agent, session()).action).toBe('allow');
  });

  it('a fingerprint rule in a multi-statement text matches only the statement with that fingerprint', () => {
    const rs = parseRules(`rules:\n  - id: fp\n    match: { fingerprint: "3dc0c42f8b08ad85" }\n    action: review\n`);
    const v = rs.evaluate(text(stmt('SelectStmt', ['read'], { fingerprint: 'aaaaaaaaaaaaaaaa' }), stmt('SelectStmt', ['read'], { fingerprint: '3dc0c42f8b08ad85' })), agent, session());
    expect(v).toMatchObject({ action: 'review', rule: 'fp', statementIndex: 1 });
  });

  it('accepts a 32-digit fingerprint (constants that are code joined to the shape) and matches it exactly', () => {
    const long = '3dc0c42f8b08ad85' + '0123456789abcdef';
    const rs = parseRules(`rules:\n  - id: fp\n    match: { fingerprint: ["${long}"] }\n    action: deny\n`);
    expect(rs.evaluate(text(stmt('DoStmt', ['privileged'], { fingerprint: long })), agent, session()).rule).toBe('fp');
    expect(rs.evaluate(text(stmt('DoStmt', ['privileged'], { fingerprint: '3dc0c42f8b08ad85' })), agent, session()).rule).toBe(null);
  });

  it('refuses a fingerprint that is not whole 16-digit hex blocks, naming where to find one', () => {
    expect(() => parseRules(`rules:\n  - id: fp\n    match: { fingerprint: [abc] }\n    action: deny\n`)).toThrow(/statement fingerprint: the hex digits `pgwarden check --json` shows/);
    expect(() => parseRules(`rules:\n  - id: fp\n    match: { fingerprint: ["3dc0c42f8b08ad85ab"] }\n    action: deny\n`)).toThrow(RuleFileError);
    // An unquoted all-digit fingerprint is a YAML number: refused rather than matched imprecisely.
    expect(() => parseRules(`rules:\n  - id: fp\n    match: { fingerprint: [1234567890123456] }\n    action: deny\n`)).toThrow(/quote it in YAML/);
  });

  it('a fingerprint rule covers a later rule with the same fingerprints and more keys (dead-rule warning)', () => {
    const rs = parseRules(`rules:\n  - id: a\n    match: { fingerprint: ["3dc0c42f8b08ad85"] }\n    action: deny\n  - id: b\n    match: { fingerprint: ["3dc0c42f8b08ad85"], database: app }\n    action: review\n`);
    expect(rs.warnings.join('\n')).toContain("rule 'b' can never match");
  });
});

describe('fixtures: expect.shadow', () => {
  const base = { where: 'f.test.yaml:1:1', name: 'n', sql: 'DELETE FROM orders', actor: agent, database: 'postgres', now: new Date() };
  const rs = parseRules(POLICY);
  const verdict = rs.evaluate(text(stmt('DeleteStmt', ['write'], { tables: ['orders'] })), agent, session());

  it('passes when the shadow verdict is the one expected, and fails naming it when not', async () => {
    const { checkCase } = await import('../../../src/policy/fixtures.js');
    expect(checkCase({ ...base, expect: { action: 'review', shadow: { action: 'deny', rule: 'no-orders-delete' } } }, verdict)).toBeNull();
    expect(checkCase({ ...base, expect: { action: 'review', shadow: null } }, verdict)).toEqual({
      expected: 'review, shadow none',
      actual: 'review (rule writes-review): rule writes-review: category write, tables orders matched, shadow deny (rule no-orders-delete)',
    });
    const plain = rs.evaluate(text(stmt('SelectStmt', ['read'])), agent, session());
    expect(checkCase({ ...base, expect: { action: 'allow', shadow: null } }, plain)).toBeNull();
    expect(checkCase({ ...base, expect: { action: 'allow', shadow: { action: 'deny' } } }, plain)?.actual).toContain('shadow none');
  });
});
