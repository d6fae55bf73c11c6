// The shipped rules and every example run their own fixtures, as `pgwarden rules test` would.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findFixtureFiles, runFixtures } from '../../../src/policy/fixtures.js';
import { loadRules } from '../../../src/policy/load.js';
import { createAnalyzer, loadSqlParser } from '../../../src/sql/analyze.js';

const PATHS = ['rules', ...readdirSync('rules/examples').map((name) => join('rules/examples', name))];

beforeAll(async () => {
  await loadSqlParser();
});

const analyzerFor = (maxRows: number) => {
  const analyzer = createAnalyzer({ maxRows, cacheEntries: 100 });
  return (text: string) => analyzer.analyze(text);
};

describe.each(PATHS)('shipped policy %s', (path) => {
  it('loads without warnings', () => {
    expect(loadRules(path).warnings).toEqual([]);
  });

  it('has fixtures, and every case passes', () => {
    expect(findFixtureFiles(path).length).toBeGreaterThan(0);
    const run = runFixtures(path, analyzerFor);
    const failures = run.failures.map((f) => `${f.testCase.where}: ${f.testCase.name}\n  expected ${f.expected}\n  actual   ${f.actual}`);
    expect(failures).toEqual([]);
    expect(run.passed).toBeGreaterThanOrEqual(10);
  });
});
