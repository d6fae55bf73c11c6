// Peak memory and parse speed of the SQL parser with pgwarden's V8 flag (Liftoff only, src/v8-flags.ts) and without
// it (V8's default: tier the hot WebAssembly up to TurboFan). Run once per mode in a fresh process:
//   npx tsx bench/parser-tiering.ts liftoff      npx tsx bench/parser-tiering.ts turbofan
// Prints one JSON line; bench/memory.sh turns both into a table.
import { readFileSync } from 'node:fs';

const mode = process.argv[2] === 'turbofan' ? 'turbofan' : 'liftoff';
if (mode === 'liftoff') await import('../src/v8-flags.js'); // before the parser's WebAssembly is compiled
const libpg = await import('libpg-query');
const { createAnalyzer, loadSqlParser } = await import('../src/sql/analyze.js');

const status = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** pgbench's TPC-B-like statements with literals (every text distinct: no cache hits). */
function statements(n: number, offset: number): string[] {
  const out: string[] = [];
  for (let i = offset; i < offset + n; i++) {
    const aid = 1 + ((i * 7919) % 100000);
    out.push(
      `UPDATE pgbench_accounts SET abalance = abalance + ${i % 5000} WHERE aid = ${aid}`,
      `SELECT abalance FROM pgbench_accounts WHERE aid = ${aid}`,
      `INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (${i % 100}, ${i % 10}, ${aid}, ${i % 5000}, CURRENT_TIMESTAMP)`,
      `SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid WHERE c.oid = ${i} ORDER BY 2 LIMIT ${1 + (i % 50)}`,
    );
  }
  return out;
}

await loadSqlParser();
const afterLoad = status('VmHWM');
libpg.parseSync('SELECT a FROM t WHERE b = 1');
await sleep(1500); // a tier-up compiles in the background within about a second
const firstParse = status('VmHWM');

// Warm up (lets TurboFan finish in the default mode), then measure.
const analyzer = createAnalyzer({ maxRows: 10_000, cacheEntries: 0 });
for (const s of statements(5000, 0)) analyzer.analyze(s);
await sleep(1500);
const measured = statements(5000, 100_000);
const times: number[] = [];
let t = performance.now();
for (const s of measured) {
  const t0 = performance.now();
  analyzer.analyze(s);
  times.push(performance.now() - t0);
}
const analyzeTotal = performance.now() - t;
t = performance.now();
for (const s of measured) libpg.parseSync(s);
const parseTotal = performance.now() - t;
times.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    mode,
    node: process.version,
    hwm_after_load_mib: Math.round(afterLoad),
    hwm_first_parse_mib: Math.round(firstParse),
    hwm_end_mib: Math.round(status('VmHWM')),
    rss_end_mib: Math.round(status('VmRSS')),
    analyze_median_us: Number((times[Math.floor(times.length / 2)]! * 1000).toFixed(1)),
    analyze_p99_us: Number((times[Math.floor(times.length * 0.99)]! * 1000).toFixed(1)),
    analyze_per_stmt_us: Number(((analyzeTotal / measured.length) * 1000).toFixed(1)),
    parse_only_per_stmt_us: Number(((parseTotal / measured.length) * 1000).toFixed(1)),
  }),
);
