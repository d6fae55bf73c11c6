// Benchmarks src/sql: uncached parse + facts for pgbench-style statements, the whole pg15 regression corpus, and cached lookups. Prints a markdown table.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import * as libpg from 'libpg-query';
import { createAnalyzer, loadSqlParser } from '../src/sql/analyze.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const corpusPath = path.resolve(repoRoot, 'test/fixtures/corpus/pg15-regress-statements.jsonl.gz');

/** pgbench's TPC-B-like script with literal values, as an agent or driver without bind parameters sends it. */
function pgbenchStatements(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const aid = 1 + ((i * 7919) % 100000);
    const bid = 1 + (i % 10);
    const tid = 1 + (i % 100);
    const delta = ((i * 31) % 10001) - 5000;
    out.push(
      `UPDATE pgbench_accounts SET abalance = abalance + ${delta} WHERE aid = ${aid}`,
      `SELECT abalance FROM pgbench_accounts WHERE aid = ${aid}`,
      `UPDATE pgbench_tellers SET tbalance = tbalance + ${delta} WHERE tid = ${tid}`,
      `UPDATE pgbench_branches SET bbalance = bbalance + ${delta} WHERE bid = ${bid}`,
      `INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (${tid}, ${bid}, ${aid}, ${delta}, CURRENT_TIMESTAMP)`,
    );
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))]!;
}

const rows: [string, string, string, string][] = [];
const fmtUs = (ms: number) => `${(ms * 1000).toFixed(2)} µs`;

await loadSqlParser();

// 1. Uncached parse + facts, one statement at a time (each text distinct, no cache).
{
  const stmts = pgbenchStatements(4000);
  const warm = createAnalyzer({ maxRows: 1000, cacheEntries: 0 });
  for (const s of stmts.slice(0, 2000)) warm.analyze(s);
  const a = createAnalyzer({ maxRows: 1000, cacheEntries: 0 });
  const times: number[] = [];
  for (const s of stmts) {
    const t0 = performance.now();
    a.analyze(s);
    times.push(performance.now() - t0);
  }
  const raw: number[] = [];
  for (const s of stmts) {
    const t0 = performance.now();
    libpg.parseSync(s);
    raw.push(performance.now() - t0);
  }
  rows.push(['baseline: libpg-query parseSync alone, pgbench statement', fmtUs(median(raw)), `p99 ${fmtUs(percentile(raw, 0.99))}`, 'context']);
  rows.push(['uncached parse + facts, pgbench statement', fmtUs(median(times)), `p99 ${fmtUs(percentile(times, 0.99))}`, '≤ 20 µs median']);
  const withFp: number[] = [];
  for (const s of stmts) {
    const t0 = performance.now();
    const f = a.analyze(s);
    void f.statements[0]!.fingerprint;
    void f.statements[0]!.normalized;
    withFp.push(performance.now() - t0);
  }
  rows.push(['… plus fingerprint and normalized (read lazily)', fmtUs(median(withFp)), `p99 ${fmtUs(percentile(withFp, 0.99))}`, 'informational']);
}

// 2. Whole shared corpus, uncached.
if (existsSync(corpusPath)) {
  const texts = gunzipSync(readFileSync(corpusPath))
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { sql: string }).sql);
  const runs: number[] = [];
  for (let r = 0; r < 3; r++) {
    const a = createAnalyzer({ maxRows: 1000, cacheEntries: 0 });
    const t0 = performance.now();
    for (const t of texts) a.analyze(t);
    runs.push(performance.now() - t0);
  }
  rows.push([`whole pg15 regression corpus (${texts.length} texts), uncached`, `${(median(runs) / 1000).toFixed(2)} s`, `best ${(Math.min(...runs) / 1000).toFixed(2)} s of 3`, '≤ 2 s']);
} else {
  rows.push(['whole pg15 regression corpus', 'missing', corpusPath, '≤ 2 s']);
}

// 3. Cached lookup.
{
  const stmts = pgbenchStatements(200);
  const a = createAnalyzer({ maxRows: 1000, cacheEntries: 10_000 });
  for (const s of stmts) a.analyze(s);
  const rounds = 500;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) for (const s of stmts) a.analyze(s);
  const per = (performance.now() - t0) / (rounds * stmts.length);
  rows.push(['cached lookup (LRU hit)', fmtUs(per), `${rounds * stmts.length} lookups`, '≤ 1 µs']);
}

console.log(`sql benchmark — node ${process.version}, ${new Date().toISOString()}, load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
console.log('| measure | result | detail | target |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
