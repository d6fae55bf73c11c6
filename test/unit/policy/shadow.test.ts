import { describe, expect, it } from 'vitest';
import { parseRules } from '../../../src/policy/load.js';

const warningsOf = (rules: string) => parseRules(`groups: { g: [a@example.com] }\nrules:\n${rules}`, 'r.yaml').warnings;

describe('shadowed rules are warnings', () => {
  it('same match twice', () => {
    expect(warningsOf('  - { id: a, match: { category: ddl }, action: deny }\n  - { id: b, match: { category: ddl }, action: allow }\n')).toEqual([
      "r.yaml:4:5: rule 'b' can never match: the earlier rule 'a' (r.yaml:3:5) matches every statement it would; move it above 'a' or narrow 'a'",
    ]);
  });

  it('a narrower later rule (subset of categories, extra keys)', () => {
    expect(warningsOf('  - { id: a, match: { category: [ddl, grant] }, action: deny }\n  - { id: b, match: { category: grant, actor: { user: x } }, action: allow }\n')).toHaveLength(1);
  });

  it('an earlier rule with an empty match shadows everything that cannot be unknown-only', () => {
    expect(warningsOf('  - { id: all, action: deny }\n  - { id: b, match: { tables: [x] }, action: deny }\n')).toHaveLength(1);
  });

  it('kind aliases and node names compare by meaning', () => {
    expect(warningsOf('  - { id: a, match: { kind: copy }, action: deny }\n  - { id: b, match: { kind: CopyStmt, tables: [t] }, action: deny }\n')).toHaveLength(1);
  });

  it('* covers any glob', () => {
    expect(warningsOf('  - { id: a, match: { tables: ["*"] }, action: deny }\n  - { id: b, match: { tables: [hr.salaries] }, action: deny }\n')).toHaveLength(1);
  });

  it('no warning when the earlier rule is narrower, has an exception or a time window, or is an allow that skips unknown', () => {
    expect(warningsOf('  - { id: a, match: { category: ddl, actor: { user: x } }, action: deny }\n  - { id: b, match: { category: ddl }, action: deny }\n')).toEqual([]);
    expect(warningsOf('  - { id: a, match: { category: ddl, not: { tables: [t] } }, action: deny }\n  - { id: b, match: { category: ddl }, action: deny }\n')).toEqual([]);
    expect(warningsOf('  - { id: a, match: { category: ddl, time: { from: "09:00", to: "17:00" } }, action: deny }\n  - { id: b, match: { category: ddl }, action: deny }\n')).toEqual([]);
    expect(warningsOf('  - { id: a, match: { actor: { user: x } }, action: allow }\n  - { id: b, match: { actor: { user: x } }, action: deny }\n')).toEqual([]);
    expect(warningsOf('  - { id: a, match: { tables: [a] }, action: deny }\n  - { id: b, match: { tables: [a, b] }, action: deny }\n')).toEqual([]);
  });
});
