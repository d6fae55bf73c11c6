// Runs the adversarial corpus: every SQL text must come out with exactly its expected categories (under- and over-blocking both fail).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAnalyzer, loadSqlParser, type Analyzer } from '../../../src/sql/analyze.js';

interface Case {
  sql: string;
  categories: string[];
  note?: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const file = path.resolve(here, '../../fixtures/sql/adversarial.jsonl');
const cases: Case[] = readFileSync(file, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Case);

let analyzer: Analyzer;
beforeAll(async () => {
  await loadSqlParser();
  analyzer = createAnalyzer({ maxRows: 1000, cacheEntries: 1000 });
});

describe('adversarial corpus (max_rows 1000)', () => {
  it('has at least 300 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(300);
  });

  it.each(cases.map((c) => [c.sql, c] as const))('%j', (_sql, c) => {
    const facts = analyzer.analyze(c.sql, { prepared: new Map() });
    expect(facts.categories, c.note ?? '').toEqual(c.categories);
    if (c.categories.includes('unknown')) expect(facts.categories).not.toContain('read');
  });
});
