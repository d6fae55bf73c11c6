// Properties of the policy engine over generated inputs: strictest wins, order of evaluation, and the loader only ever throws RuleFileError.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RuleFileError } from '../../../src/errors.js';
import { loadRules, parseRules } from '../../../src/policy/load.js';
import { CATEGORIES, type Category } from '../../../src/sql/types.js';
import { agent, session, stmt, text } from './build-facts.js';

const RANK = { allow: 0, review: 1, deny: 2 } as const;
const category = fc.constantFrom<Category>(...CATEGORIES);
const statement = fc
  .record({ kind: fc.constantFrom('SelectStmt', 'InsertStmt', 'DropStmt', 'GrantStmt', 'CopyStmt', 'Unknown'), categories: fc.uniqueArray(category, { minLength: 1, maxLength: 3 }), tables: fc.array(fc.constantFrom('users', 'public.users', 'hr.salaries', 'orders'), { maxLength: 2 }) })
  .map((s) => stmt(s.kind, s.categories, { tables: s.tables }));

describe('policy properties', () => {
  const rs = loadRules('rules');

  it('a text gets the strictest of its statements’ verdicts, and statementIndex points at it', () => {
    fc.assert(
      fc.property(fc.array(statement, { minLength: 1, maxLength: 6 }), (stmts) => {
        const whole = rs.evaluate(text(...stmts), agent, session());
        const each = stmts.map((s) => rs.evaluate(text(s), agent, session()));
        expect(RANK[whole.action]).toBe(Math.max(...each.map((v) => RANK[v.action])));
        expect(each[whole.statementIndex]!.action).toBe(whole.action);
        expect(each[whole.statementIndex]!.rule).toBe(whole.rule);
      }),
    );
  });

  it('an unknown statement is never allowed by the default rules', () => {
    fc.assert(
      fc.property(fc.array(statement, { maxLength: 4 }), fc.nat(4), (stmts, at) => {
        const withUnknown = [...stmts.slice(0, at), stmt('Unknown', ['unknown']), ...stmts.slice(at)];
        expect(rs.evaluate(text(...withUnknown), agent, session()).action).not.toBe('allow');
      }),
    );
  });

  it('the loader throws nothing but RuleFileError, whatever the text', () => {
    const yamlish = fc.stringMatching(/^[a-z_:{}[\], \n\-*."0-9]{0,80}$/);
    const ruleish = fc
      .record({ id: fc.string({ maxLength: 6 }), action: fc.constantFrom('allow', 'deny', 'review', 'x'), key: fc.constantFrom('category', 'kind', 'tables', 'time', 'not', 'actor', 'bounded'), value: fc.string({ maxLength: 8 }) })
      .map((r) => `rules:\n  - id: ${JSON.stringify(r.id)}\n    action: ${r.action}\n    match: { ${r.key}: ${JSON.stringify(r.value)} }\n`);
    fc.assert(
      fc.property(fc.oneof(yamlish, ruleish), (source) => {
        try {
          parseRules(source, 'gen.yaml');
        } catch (err) {
          expect(err).toBeInstanceOf(RuleFileError);
          expect((err as RuleFileError).message).toMatch(/^gen\.yaml:\d+:\d+: \S/);
        }
      }),
      { numRuns: 500 },
    );
  });
});
