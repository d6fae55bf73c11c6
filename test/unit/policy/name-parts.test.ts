// A dotted name pattern with an empty part is a rule-file error with its position, never a crash (found by the property test).
import { describe, expect, it } from 'vitest';
import { parseRules } from '../../../src/policy/load.js';
import { RuleFileError } from '../../../src/errors.js';

describe('name patterns', () => {
  for (const bad of ['.', 'public.', '.users', 'a..b']) {
    it(`refuses tables: "${bad}" with file:line:col`, () => {
      const text = `version: 1\nrules:\n  - id: r\n    action: allow\n    match: { tables: "${bad}" }\n`;
      expect(() => parseRules(text, 'r.yaml')).toThrow(RuleFileError);
      expect(() => parseRules(text, 'r.yaml')).toThrow(/^r\.yaml:5:\d+: .*empty name part/);
    });
  }

  it('still accepts ordinary patterns', () => {
    expect(() => parseRules('version: 1\nrules:\n  - id: r\n    action: deny\n    match: { tables: [users, public.*, "*.secrets"], columns: [customers.email] }\n', 'r.yaml')).not.toThrow();
  });
});
