import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RuleFileError } from '../../../src/errors.js';
import { loadRules, parseRules } from '../../../src/policy/load.js';
import { agent, session, stmt, text } from './build-facts.js';

const INVALID = 'test/fixtures/rules/invalid';
const expected = JSON.parse(readFileSync(`${INVALID}/expected.json`, 'utf8')) as Record<string, string>;

describe('loadRules: invalid files stop with file:line:col and a reason', () => {
  const files = readdirSync(INVALID).filter((f) => f.endsWith('.yaml'));
  it('has an expectation for every invalid fixture', () => {
    expect(files.sort()).toEqual(Object.keys(expected).sort());
  });
  for (const file of files) {
    it(`${file} → ${expected[file]}`, () => {
      let error: unknown;
      try {
        loadRules(`${INVALID}/${file}`);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(RuleFileError);
      expect((error as RuleFileError).message).toBe(`${INVALID}/${file}:${expected[file]}`);
    });
  }

  it('names the file and 1:1 when the path does not exist', () => {
    expect(() => loadRules('test/fixtures/rules/nope.yaml')).toThrow(/^test\/fixtures\/rules\/nope\.yaml:1:1: cannot read the rules \(ENOENT\)/);
  });
});

describe('loadRules: a folder', () => {
  const rs = loadRules('test/fixtures/rules/valid/folder');

  it('reads *.yaml in name order, skips subfolders and *.test.yaml', () => {
    expect(rs.files).toEqual(['test/fixtures/rules/valid/folder/10-groups.yaml', 'test/fixtures/rules/valid/folder/20-rules.yaml']);
    expect(rs.rules.map((r) => r.id)).toEqual(['grants', 'ddl', 'ddl-tables']);
    expect(rs.rules[0]).toMatchObject({ file: 'test/fixtures/rules/valid/folder/20-rules.yaml', line: 3, column: 5 });
  });

  it('expands groups across files, takes other names as identities, and resolves review options', () => {
    expect(rs.rules[0]!.review).toEqual({
      approvers: ['sec1@example.com', 'sec2@example.com', 'carol@example.com'],
      groups: ['security'],
      quorum: 2,
      timeoutMs: 120_000,
      scopes: ['once', 'fingerprint'],
      grantTtlMs: 15 * 60_000,
    });
    expect(rs.rules[1]!.review).toMatchObject({ approvers: ['alice@example.com', 'bob@example.com'], groups: ['dba'], quorum: 1, scopes: ['once'], grantTtlMs: 0 });
  });

  it('warns about a rule an earlier rule shadows', () => {
    expect(rs.warnings).toEqual([
      expect.stringMatching(/^test\/fixtures\/rules\/valid\/folder\/20-rules\.yaml:12:5: rule 'ddl-tables' can never match: the earlier rule 'ddl' \(test\/fixtures\/rules\/valid\/folder\/20-rules\.yaml:9:5\)/),
    ]);
  });

  it('uses defaults.on_unknown from the defaults file', () => {
    expect(rs.defaults.onUnknown).toBe('deny');
    expect(rs.evaluate(text(stmt('Unknown', ['unknown'])), agent, session()).action).toBe('deny');
  });
});

describe('loadRules: the shipped rules', () => {
  it('rules/ loads without warnings', () => {
    const rs = loadRules('rules');
    expect(rs.warnings).toEqual([]);
    expect(rs.rules.map((r) => r.id)).toEqual(['privileged', 'grants', 'ddl', 'exports']);
  });
});

describe('parseRules: cross-file and option errors', () => {
  it('refuses a group defined in two files, and two defaults blocks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgwarden-rules-'));
    try {
      writeFileSync(join(dir, 'a.yaml'), 'groups: { dba: [x@example.com] }\ndefaults: { action: allow }\n');
      writeFileSync(join(dir, 'b.yaml'), 'groups:\n  dba: [y@example.com]\n');
      expect(() => loadRules(dir)).toThrow(new RegExp(`^${dir}/b\\.yaml:2:3: group 'dba' is already defined in ${dir}/a\\.yaml:1:11`));
      writeFileSync(join(dir, 'b.yaml'), 'version: 1\ndefaults: { action: deny }\n');
      expect(() => loadRules(dir)).toThrow(new RegExp(`^${dir}/b\\.yaml:2:1: defaults are already set in ${dir}/a\\.yaml:2:1`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('points at a missing key in the parent mapping', () => {
    expect(() => parseRules('rules:\n  - match: { category: ddl }\n    action: deny\n', 'r.yaml')).toThrow("r.yaml:2:5: missing required key 'id'");
  });

  it('refuses message and reason together', () => {
    expect(() => parseRules('rules:\n  - id: a\n    action: deny\n    message: x\n    reason: y\n', 'r.yaml')).toThrow('r.yaml:5:13: write either message or reason');
  });

  it('refuses an unknown top-level key with a suggestion', () => {
    expect(() => parseRules('version: 1\nrule: []\n', 'r.yaml')).toThrow("r.yaml:2:1: unknown key 'rule' in the rule file (did you mean 'rules'?)");
  });

  it('refuses version 2', () => {
    expect(() => parseRules('version: 2\n', 'r.yaml')).toThrow('r.yaml:1:10: version must be 1');
  });

  it('warns when an approver name looks like a misspelt group', () => {
    const rs = parseRules('groups: { security: [s@example.com] }\nrules:\n  - id: g\n    match: { category: grant }\n    action: review\n    approvers: [securty]\n', 'r.yaml');
    expect(rs.warnings).toEqual([expect.stringContaining("r.yaml:6:5: rule 'g': approver 'securty' is not a group, so it is taken as an identity (did you mean 'security'?)")]);
    expect(rs.rules[0]!.review!.approvers).toEqual(['securty']);
  });

  it('warns when a review has no approvers at all', () => {
    const rs = parseRules('rules:\n  - id: d\n    match: { category: ddl }\n    action: review\n', 'r.yaml');
    expect(rs.warnings.join('\n')).toMatch(/rule 'd': review has no approvers/);
  });

  it('an explicitly empty policy (rules: [] and a stated defaults.action) loads and decides by the defaults', () => {
    const rs = parseRules('defaults: { action: deny }\nrules: []\n', 'empty.yaml');
    expect(rs.rules).toEqual([]);
    expect(rs.evaluate(text(stmt('SelectStmt', ['read'])), agent, session()).action).toBe('deny');
  });
});

describe('parseRules: an empty, cut or rule-less file is never a policy that allows everything', () => {
  const explicit = /write `rules: \[\]` and state `defaults: \{ action: allow \| deny \| review \}`/;
  it.each([
    ['a file of zero bytes', ''],
    ['only whitespace', '\n\n  \n'],
    ['only comments', '# rules for prod\n# (being rewritten)\n'],
  ])('refuses %s, naming the file and the explicit way', (_what, content) => {
    expect(() => parseRules(content, 'cut.yaml')).toThrow(/^cut\.yaml:1:1: the rule file is empty/);
    expect(() => parseRules(content, 'cut.yaml')).toThrow(explicit);
  });

  it('refuses a file cut inside its first key (a bare scalar, not a mapping)', () => {
    expect(() => parseRules('vers', 'cut.yaml')).toThrow(/^cut\.yaml:1:1: expected a mapping .* \(is the file cut short\?\)/);
  });

  it('refuses a file cut after its defaults, before any rule', () => {
    expect(() => parseRules('version: 1\ndefaults: { action: allow, on_unknown: review }\n', 'cut.yaml')).toThrow(/^cut\.yaml:1:1: the policy has no rules: a truncated or unfinished rule file would allow everything/);
  });

  it('refuses `rules: []` without a stated defaults.action (allow by omission is not a choice)', () => {
    expect(() => parseRules('rules: []\n', 'r.yaml')).toThrow(/the policy has no rules and no defaults\.action/);
  });

  it('refuses a file cut in the middle of a rule', () => {
    const whole = 'version: 1\nrules:\n  - id: privileged\n    match: { category: privileged }\n    action: deny\n';
    const cut = whole.slice(0, whole.indexOf('action'));
    expect(() => parseRules(cut, 'cut.yaml')).toThrow(/^cut\.yaml:\d+:\d+: /);
  });

  it('in a folder, one empty file stops the load even when the others hold rules', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgwarden-empty-'));
    try {
      writeFileSync(join(dir, '10-deny.yaml'), 'rules:\n  - { id: d, match: { category: privileged }, action: deny }\n');
      writeFileSync(join(dir, '20-more.yaml'), '');
      expect(() => loadRules(dir)).toThrow(new RegExp(`^${join(dir, '20-more.yaml')}:1:1: the rule file is empty`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
