// Opens N idle connections through pgwarden and reports the growth of its resident memory per connection.
// Usage: node bench/idle-memory.mjs PGWARDEN_PID URL N
import { readFileSync } from 'node:fs';
import pg from 'pg';

const [pid, url, nText] = process.argv.slice(2);
const n = Number(nText ?? 1000);
const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const warm = new pg.Client(url);
await warm.connect();
await warm.query('SELECT 1');
await warm.end();
await sleep(1000);
const before = rss();
const clients = [];
for (let i = 0; i < n; i += 50) {
  const batch = Array.from({ length: Math.min(50, n - i) }, () => new pg.Client(url));
  await Promise.all(batch.map((c) => c.connect()));
  await Promise.all(batch.map((c) => c.query('SELECT 1')));
  clients.push(...batch);
}
await sleep(2000);
const after = rss();
await Promise.all(clients.map((c) => c.end()));
const per = (after - before) / n;
console.log(`${n} connections: pgwarden RSS ${(before / 2 ** 20).toFixed(1)} MiB → ${(after / 2 ** 20).toFixed(1)} MiB, ${(per / 1024).toFixed(1)} KiB per idle connection`);
