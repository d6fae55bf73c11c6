// Policy fixtures for `pgwarden rules test`: YAML cases (SQL + actor → expected action and rule) run against a RuleSet.
//
// Convention (docs/rules.md, "Testing a policy"): the fixtures of a rules PATH are the
// `*.test.yaml`/`*.test.yml` files in `tests/` next to the rules — `PATH/tests/` for a folder,
// `dirname(PATH)/tests/<name>.test.yaml` for a file. A fixture file may name other rules with
// `rules:` (relative to the fixture file), and PATH may itself be a fixture file.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { isIP } from 'node:net';
import { z } from 'zod';
import { RuleFileError } from '../errors.js';
import type { TextFacts } from '../sql/types.js';
import type { RuleSet } from './evaluate.js';
import { loadRules } from './load.js';
import { ACTIONS } from './schema.js';
import { positionOf, readYaml, validateYaml } from './yaml-source.js';
import { AUTH_METHODS, type Action, type Actor, type Verdict } from './verdict.js';

export const FIXTURE_FILE = /\.test\.ya?ml$/i;
/** Same default as config limits.max_rows. */
export const DEFAULT_FIXTURE_MAX_ROWS = 10_000;

const actorSchema = z.strictObject({
  user: z.string().optional(),
  application: z.string().optional(),
  address: z.string().refine((a) => isIP(a) !== 0 || a === '', "expected an IP address such as 127.0.0.1 ('' for a Unix socket)").optional(),
  identity: z.string().optional(),
  groups: z.array(z.string()).optional(),
  auth: z.enum(AUTH_METHODS).optional(),
});

const when = z.union([z.string(), z.date()]).transform((v, ctx) => {
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime())) {
    ctx.addIssue({ code: 'custom', message: `'${String(v)}' is not a time; write ISO 8601 such as 2026-03-04T10:00:00Z` });
    return z.NEVER;
  }
  return d;
});

const expectSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { action: v } : v),
  z.strictObject({
    action: z.enum(ACTIONS, { error: (iss) => `expected action '${String(iss.input)}' is not one of ${ACTIONS.join(', ')}` }),
    /** Rule id, or null for "defaults decided". Omitted: not checked. */
    rule: z.string().nullable().optional(),
    approvers: z.array(z.string()).optional(),
    quorum: z.number().int().positive().optional(),
    statement: z.number().int().nonnegative().optional(),
    /** The shadow verdict (shadow-mode rules): `null` = none (shadow rules agree with the enforced verdict). */
    shadow: z
      .preprocess(
        (v) => (typeof v === 'string' ? { action: v } : v),
        z.strictObject({ action: z.enum(ACTIONS), rule: z.string().nullable().optional() }),
      )
      .nullable()
      .optional(),
  }),
);

const caseSchema = z.strictObject({
  name: z.string().optional(),
  sql: z.string({ error: 'every case needs the sql to evaluate' }),
  actor: actorSchema.optional(),
  database: z.string().optional(),
  time: when.optional(),
  expect: expectSchema,
});

const fixtureFileSchema = z.strictObject({
  rules: z.string().optional(),
  max_rows: z.number().int().positive().optional(),
  defaults: z.strictObject({ actor: actorSchema.optional(), database: z.string().optional(), time: when.optional() }).optional(),
  cases: z.array(caseSchema, { error: 'cases must be a list of cases (each with sql and expect)' }),
});

export interface FixtureExpectation {
  readonly action: Action;
  readonly rule?: string | null;
  readonly approvers?: readonly string[];
  readonly quorum?: number;
  readonly statement?: number;
  readonly shadow?: { readonly action: Action; readonly rule?: string | null | undefined } | null;
}

export interface FixtureCase {
  /** `file:line:col` of the case. */
  readonly where: string;
  readonly name: string;
  readonly sql: string;
  readonly actor: Actor;
  readonly database: string;
  readonly now: Date;
  readonly expect: FixtureExpectation;
}

export interface FixtureFile {
  readonly file: string;
  /** Rules path this file tests (absolute or as given). */
  readonly rules: string;
  readonly maxRows: number;
  readonly cases: readonly FixtureCase[];
}

export interface FixtureFailure {
  readonly testCase: FixtureCase;
  readonly expected: string;
  readonly actual: string;
  readonly verdict: Verdict;
}

export interface FixtureRun {
  readonly files: readonly string[];
  readonly passed: number;
  readonly failures: readonly FixtureFailure[];
  /** Warnings of every rule set loaded. */
  readonly warnings: readonly string[];
}

/** The fixture files for a rules path (see the convention above). */
export function findFixtureFiles(rulesPath: string): string[] {
  if (FIXTURE_FILE.test(rulesPath)) return [rulesPath];
  let isDir = false;
  try {
    isDir = statSync(rulesPath).isDirectory();
  } catch {
    return [];
  }
  if (!isDir) {
    const dir = join(dirname(rulesPath), 'tests');
    const stem = basename(rulesPath, extname(rulesPath));
    return [`${stem}.test.yaml`, `${stem}.test.yml`].map((n) => join(dir, n)).filter((f) => existsSync(f));
  }
  const dir = join(rulesPath, 'tests');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => FIXTURE_FILE.test(n))
    .sort()
    .map((n) => join(dir, n));
}

export function loadFixtureFile(file: string, rulesPath: string | null): FixtureFile {
  const src = readYaml(file);
  const data = validateYaml(src, fixtureFileSchema);
  const rules = data.rules !== undefined ? resolve(dirname(file), data.rules) : rulesPath;
  if (rules === null) throw new RuleFileError(file, 1, 1, 'this fixture file names no rules; add `rules: ../path/to/rules` (relative to the fixture file)');
  const d = data.defaults ?? {};
  const cases = data.cases.map((c, i): FixtureCase => {
    const { line, column } = positionOf(src, ['cases', i]);
    return {
      where: `${file}:${line}:${column}`,
      name: c.name ?? c.sql,
      sql: c.sql,
      actor: { user: 'agent', application: '', address: '127.0.0.1', ...d.actor, ...c.actor },
      database: c.database ?? d.database ?? 'postgres',
      now: c.time ?? d.time ?? new Date('2026-01-07T12:00:00Z'),
      expect: c.expect,
    };
  });
  return { file, rules, maxRows: data.max_rows ?? DEFAULT_FIXTURE_MAX_ROWS, cases };
}

function show(action: Action, rule: string | null | undefined): string {
  return rule === undefined ? action : `${action} (rule ${rule ?? 'none: defaults'})`;
}

/** Compares one verdict with a case's expectation; null when it passes, else the mismatch. */
export function checkCase(testCase: FixtureCase, verdict: Verdict): Omit<FixtureFailure, 'testCase' | 'verdict'> | null {
  const e = testCase.expect;
  const problems: string[] = [];
  if (verdict.action !== e.action) problems.push('action');
  if (e.rule !== undefined && verdict.rule !== e.rule) problems.push('rule');
  if (e.approvers !== undefined && [...(verdict.review?.approvers ?? [])].sort().join(',') !== [...e.approvers].sort().join(',')) problems.push('approvers');
  if (e.quorum !== undefined && verdict.review?.quorum !== e.quorum) problems.push('quorum');
  if (e.statement !== undefined && verdict.statementIndex !== e.statement) problems.push('statement');
  const sv = verdict.shadow;
  if (e.shadow === null ? sv !== undefined : e.shadow !== undefined && (sv?.action !== e.shadow.action || (e.shadow.rule !== undefined && sv.rule !== e.shadow.rule))) problems.push('shadow');
  if (problems.length === 0) return null;
  let expected = show(e.action, e.rule);
  let actual = `${show(verdict.action, verdict.rule)}: ${verdict.reason}`;
  if (e.approvers !== undefined) {
    expected += `, approvers ${e.approvers.join(', ')}`;
    actual += `, approvers ${(verdict.review?.approvers ?? []).join(', ')}`;
  }
  if (e.quorum !== undefined) {
    expected += `, quorum ${e.quorum}`;
    actual += `, quorum ${verdict.review?.quorum ?? '-'}`;
  }
  if (e.statement !== undefined) {
    expected += `, statement ${e.statement}`;
    actual += `, statement ${verdict.statementIndex}`;
  }
  if (e.shadow !== undefined) {
    expected += `, shadow ${e.shadow === null ? 'none' : show(e.shadow.action, e.shadow.rule)}`;
    actual += `, shadow ${sv ? show(sv.action, sv.rule) : 'none'}`;
  }
  return { expected, actual };
}

/**
 * Runs every fixture of `rulesPath`. `analyzerFor(maxRows)` gives the SQL analyzer (policy/ does not
 * import sql/ at runtime). Throws RuleFileError when rules or fixtures are invalid.
 */
export function runFixtures(rulesPath: string, analyzerFor: (maxRows: number) => (text: string) => TextFacts, files = findFixtureFiles(rulesPath)): FixtureRun {
  const ruleSets = new Map<string, RuleSet>();
  const warnings: string[] = [];
  const ruleSetFor = (path: string): RuleSet => {
    let rs = ruleSets.get(resolve(path));
    if (!rs) {
      rs = loadRules(path);
      ruleSets.set(resolve(path), rs);
      warnings.push(...rs.warnings);
    }
    return rs;
  };
  const isFixturePath = FIXTURE_FILE.test(rulesPath);
  if (!isFixturePath) ruleSetFor(rulesPath);
  let passed = 0;
  const failures: FixtureFailure[] = [];
  for (const file of files) {
    const fixture = loadFixtureFile(file, isFixturePath ? null : rulesPath);
    const rs = ruleSetFor(fixture.rules);
    const analyze = analyzerFor(fixture.maxRows);
    for (const testCase of fixture.cases) {
      const verdict = rs.evaluate(analyze(testCase.sql), testCase.actor, { database: testCase.database, inTransactionBlock: false, now: testCase.now });
      const mismatch = checkCase(testCase, verdict);
      if (mismatch) failures.push({ testCase, verdict, ...mismatch });
      else passed++;
    }
  }
  return { files, passed, failures, warnings };
}
