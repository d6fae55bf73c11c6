// Policy evaluation cost: per cached verdict (the hot path) and per uncached evaluation, with the shipped rules.
// Run: npx tsx bench/policy-bench.ts   (target from issue 4: ≤ 2 µs per cached statement)
import { VerdictCache } from '../src/policy/cache.js';
import { loadRules } from '../src/policy/load.js';
import type { Actor, SessionInfo } from '../src/policy/verdict.js';
import { createAnalyzer, loadSqlParser } from '../src/sql/analyze.js';

const TEXTS = [
  'SELECT id, email FROM users WHERE id = 42 LIMIT 10',
  "UPDATE orders SET status = 'shipped' WHERE id = 7",
  'SELECT c.email, c.phone FROM customers c JOIN tickets t ON t.customer_id = c.id',
  'DROP TABLE users',
  'GRANT ALL ON customers TO agent',
  "COPY users TO PROGRAM 'curl x'",
  'SELECT 1; CREATE TABLE t (id int); GRANT SELECT ON t TO reporting',
  'SELECT count(*) FROM orders',
];

const POLICIES = ['rules', 'rules/examples/analytics-agent', 'rules/examples/support-copilot', 'rules/examples/migration-bot'];

await loadSqlParser();
const analyzer = createAnalyzer({ maxRows: 10_000, cacheEntries: 1000 });
const facts = TEXTS.map((t) => analyzer.analyze(t));
const actor: Actor = { user: 'migrator', application: 'claude', address: '10.20.1.2' };
const session: SessionInfo = { database: 'prod', inTransactionBlock: false, now: new Date('2026-03-04T10:00:00Z') };

function measure(fn: (i: number) => void, iterations: number): number {
  for (let i = 0; i < Math.min(iterations, 50_000); i++) fn(i); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(i);
  return Number(process.hrtime.bigint() - start) / iterations; // ns per call
}

const N = 2_000_000;
const rows: string[] = [];
for (const path of POLICIES) {
  const rs = loadRules(path);
  const cache = new VerdictCache();
  let sink = 0;
  const uncached = measure((i) => {
    sink += rs.evaluate(facts[i % facts.length]!, actor, session).statementIndex;
  }, N / 4);
  const cached = measure((i) => {
    sink += cache.evaluate(rs, facts[i % facts.length]!, actor, session).statementIndex;
  }, N);
  // The whole hot path as the proxy sees it: parse-cache hit + verdict-cache hit.
  const withParse = measure((i) => {
    sink += cache.evaluate(rs, analyzer.analyze(TEXTS[i % TEXTS.length]!), actor, session).statementIndex;
  }, N / 4);
  rows.push(`| ${path} | ${rs.rules.length} | ${rs.hasTimeRules ? 'yes' : 'no'} | ${(cached / 1000).toFixed(3)} | ${(withParse / 1000).toFixed(3)} | ${(uncached / 1000).toFixed(3)} |`);
  if (sink < 0) console.log(sink);
}

console.log(`policy evaluation, ${TEXTS.length} statement texts in rotation, Node ${process.version}\n`);
console.log('| rules | rule count | time windows | cached verdict (µs) | parse-cache hit + cached verdict (µs) | uncached evaluate (µs) |');
console.log('|---|---:|---|---:|---:|---:|');
for (const row of rows) console.log(row);
console.log('\nTime-window verdicts that consulted the clock are never cached, so their cost is the uncached column.');
