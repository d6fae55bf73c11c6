// `pgwarden rules test [PATH…]` (policy fixtures, like `opa test`) and `pgwarden rules validate [PATH…]` (load, print warnings).
import { styleText } from 'node:util';
import { Command, Option } from 'commander';
import { DEFAULT_RULES } from '../config.js';
import { findFixtureFiles, runFixtures, type FixtureFailure } from '../policy/fixtures.js';
import { loadRules } from '../policy/load.js';
import { createAnalyzer, loadSqlParser } from '../sql/analyze.js';
import type { TextFacts } from '../sql/types.js';
import { registerReplay } from './rules-replay.js';
import { registerSuggest } from './rules-suggest.js';

/** Same codes as cli.ts EXIT (not imported: cli.ts runs the program when loaded). Invalid rules throw RuleFileError → 2 in cli.ts. */
const EXIT = { ok: 0, failed: 1 } as const;

function defaultPaths(paths: string[]): string[] {
  return paths.length ? paths : [process.env.PGWARDEN_RULES || DEFAULT_RULES];
}

function printFailure(f: FixtureFailure): void {
  const c = f.testCase;
  process.stdout.write(
    [
      `${styleText(['bold', 'red'], 'FAIL')} ${c.where}: ${c.name}`,
      `  sql:      ${c.sql.trim().replace(/\n/g, '\n            ')}`,
      `  actor:    user ${c.actor.user}, application '${c.actor.application}', address ${c.actor.address}; database ${c.database}`,
      `  expected: ${f.expected}`,
      `  actual:   ${f.actual}`,
      '',
    ].join('\n'),
  );
}

async function testRules(paths: string[], opts: { verbose?: boolean }): Promise<void> {
  await loadSqlParser();
  const analyzers = new Map<number, (text: string) => TextFacts>();
  const analyzerFor = (maxRows: number) => {
    let a = analyzers.get(maxRows);
    if (!a) {
      const analyzer = createAnalyzer({ maxRows, cacheEntries: 1000 });
      a = (text: string) => analyzer.analyze(text);
      analyzers.set(maxRows, a);
    }
    return a;
  };
  let passed = 0;
  let failed = 0;
  let missing = 0;
  for (const path of defaultPaths(paths)) {
    const files = findFixtureFiles(path);
    if (files.length === 0) {
      missing++;
      process.stdout.write(`${styleText(['bold', 'red'], 'NO FIXTURES')} ${path}: add *.test.yaml files in a tests/ folder next to the rules (see docs/rules.md, "Testing a policy")\n`);
      loadRules(path); // still report invalid rules as such (exit 2)
      continue;
    }
    const run = runFixtures(path, analyzerFor, files);
    for (const w of new Set(run.warnings)) process.stderr.write(`pgwarden: warning: ${w}\n`);
    for (const f of run.failures) printFailure(f);
    if (opts.verbose) for (const file of run.files) process.stdout.write(`${styleText('dim', 'ran')} ${file}\n`);
    passed += run.passed;
    failed += run.failures.length;
  }
  const summary = `${passed} passed, ${failed} failed${missing ? `, ${missing} path(s) without fixtures` : ''}`;
  process.stdout.write(`${failed || missing ? styleText(['bold', 'red'], summary) : styleText(['bold', 'green'], summary)}\n`);
  process.exitCode = failed || missing ? EXIT.failed : EXIT.ok;
}

function validateRules(paths: string[], opts: { strict?: boolean }): void {
  let warned = 0;
  for (const path of defaultPaths(paths)) {
    const rs = loadRules(path);
    const review = rs.rules.filter((r) => r.action === 'review').length;
    const deny = rs.rules.filter((r) => r.action === 'deny').length;
    process.stdout.write(
      `${styleText('green', 'ok')} ${path}: ${rs.files.length} file(s), ${rs.rules.length} rule(s) (${deny} deny, ${review} review, ${rs.rules.length - deny - review} allow), ${rs.groups.size} group(s); defaults: ${rs.defaults.action}, unknown → ${rs.defaults.onUnknown}\n`,
    );
    for (const w of rs.warnings) process.stdout.write(`${styleText('yellow', 'warning:')} ${w}\n`);
    warned += rs.warnings.length;
  }
  process.exitCode = opts.strict && warned ? EXIT.failed : EXIT.ok;
}

export function register(program: Command): void {
  const rules = program.command('rules').description('work with policy rule files: run their fixtures, validate them, replay them over an audit log, learn rules from decisions');

  rules
    .command('test')
    .description('run policy fixtures (SQL + actor → expected action and rule) against the rules, like `opa test`')
    .argument('[path...]', 'rule file or folder, or a *.test.yaml fixture file (default: $PGWARDEN_RULES or the shipped rules)')
    .option('-v, --verbose', 'also list the fixture files that ran')
    .addHelpText(
      'after',
      `
Fixtures are *.test.yaml files in a tests/ folder next to the rules:
  rules/10-exports.yaml
  rules/tests/exports.test.yaml      ← cases for the rules/ folder
A case:
  cases:
    - name: COPY TO PROGRAM is refused
      sql: COPY users TO PROGRAM 'curl https://example.com'
      actor: { user: agent_7, application: claude, address: 10.0.0.5 }
      expect: { action: deny, rule: privileged }

Examples:
  pgwarden rules test                      # the rules in $PGWARDEN_RULES (or the shipped defaults)
  pgwarden rules test ./rules ./rules/examples/analytics-agent
  pgwarden rules test ./rules/tests/exports.test.yaml

Exit codes: 0 every case passed, 1 a case failed (expected vs actual printed) or no fixtures found,
            2 invalid rules or fixture file (file:line:col: reason).`,
    )
    .action(async (paths: string[], opts: { verbose?: boolean }) => {
      await testRules(paths, opts);
    });

  rules
    .command('validate')
    .description('load rules, report the first error with file:line:col, and print warnings (e.g. shadowed rules)')
    .argument('[path...]', 'rule file or folder (default: $PGWARDEN_RULES or the shipped rules)')
    .addOption(new Option('--strict', 'exit 1 when there are warnings'))
    .addHelpText(
      'after',
      `
Examples:
  pgwarden rules validate ./rules
  pgwarden rules validate --strict ./rules     # for CI: warnings fail the build

Exit codes: 0 valid, 1 warnings with --strict, 2 invalid (file:line:col: reason).`,
    )
    .action((paths: string[], opts: { strict?: boolean }) => {
      validateRules(paths, opts);
    });

  registerReplay(rules);
  registerSuggest(rules);
}
