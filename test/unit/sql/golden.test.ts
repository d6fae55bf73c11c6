// Golden facts: the full StatementFacts of a handful of statements, field by field, so any change in shape or content is seen.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAnalyzer, loadSqlParser } from '../../../src/sql/analyze.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const golden = JSON.parse(readFileSync(path.resolve(here, '../../fixtures/sql/golden.json'), 'utf8')) as { text: string }[];

beforeAll(async () => {
  await loadSqlParser();
});

describe('golden facts (max_rows 1000)', () => {
  const analyzer = createAnalyzer({ maxRows: 1000, cacheEntries: 0 });
  it.each(golden.map((g) => [g.text, g] as const))('%s', (text, expected) => {
    // JSON round trip: what `pgwarden check --json` and the audit log see, lazy fields included.
    expect(JSON.parse(JSON.stringify(analyzer.analyze(text)))).toEqual(expected);
  });
});
