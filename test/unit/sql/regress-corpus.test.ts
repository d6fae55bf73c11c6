// Every statement of PostgreSQL 15's regression suite classifies without throwing and none comes out `unknown`.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAnalyzer, loadSqlParser } from '../../../src/sql/analyze.js';
import type { SqlSession } from '../../../src/sql/types.js';
import { regressCorpusPath } from './corpus-path.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const corpusPath = regressCorpusPath();

interface Row {
  file: string;
  kind: string;
  sql: string;
}

beforeAll(async () => {
  await loadSqlParser();
});

describe('PostgreSQL 15 regression statements', () => {
  it('classifies every statement, none unknown', () => {
    if (!existsSync(corpusPath)) {
      throw new Error(`corpus missing: expected ${corpusPath} (the shared pg15 regression corpus next to the repository); restore it to run this test`);
    }
    const rows = gunzipSync(readFileSync(corpusPath))
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Row);
    expect(rows.length).toBeGreaterThan(40_000);
    const analyzer = createAnalyzer({ maxRows: 1000, cacheEntries: 0 });
    const sessions = new Map<string, SqlSession>();
    const unknown: string[] = [];
    const kindMismatch: string[] = [];
    for (const row of rows) {
      let session = sessions.get(row.file);
      if (session === undefined) {
        session = { prepared: new Map() };
        sessions.set(row.file, session);
      }
      const facts = analyzer.analyze(row.sql, session);
      if (facts.categories.includes('unknown')) unknown.push(`${row.file}: ${row.sql.slice(0, 120)} (${facts.parseError ?? 'no parse error'})`);
      if (facts.statements.length === 1 && facts.statements[0]!.kind !== row.kind) kindMismatch.push(`${row.file}: ${row.kind} vs ${facts.statements[0]!.kind}`);
    }
    expect(unknown.slice(0, 20)).toEqual([]);
    expect(kindMismatch.slice(0, 20)).toEqual([]);
  }, 60_000);
});
