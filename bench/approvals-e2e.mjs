// End-to-end approval benchmark through two pgwarden instances sharing one Redis:
//  * N statements held on instance A, each approved by a POST to instance B's API: time from the POST to the
//    client's result (p50/p99);
//  * resident memory of instance A with N connections held.
// Usage: node bench/approvals-e2e.mjs UPSTREAM_URL REDIS_URL [N]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const [upstream, redis, nText] = process.argv.slice(2);
const n = Number(nText ?? 200);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(join(tmpdir(), 'pgw-bench-'));
const rules = join(dir, 'rules.yaml');
writeFileSync(rules, `version: 1
defaults: { action: allow, on_unknown: review, review: { timeout: 10m, approvers: [approver@example.com] } }
rules:
  - id: held
    match: { category: [export] }
    action: review
`);
const token = 'bench-token-0123456789';
const prefix = `pgw-bench-${process.pid}:`;
writeFileSync(join(dir, 'cfg.yaml'), `redis_key_prefix: "${prefix}"\n`);
const A = { port: 64340, http: 64341 };
const B = { port: 64342, http: 64343 };
const serve = ({ port, http }) =>
  spawn(process.execPath, ['dist/cli.js', 'serve', '--config', join(dir, 'cfg.yaml'), '--upstream', upstream, '--listen', `127.0.0.1:${port}`, '--http', `127.0.0.1:${http}`, '--rules', rules, '--redis', redis], {
    env: { ...process.env, PGWARDEN_API_TOKENS: `approver@example.com=${token}`, PGWARDEN_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
const a = serve(A);
const b = serve(B);
const rss = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
try {
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://127.0.0.1:${B.http}/healthz`).then((r) => r.ok, () => false) && (await fetch(`http://127.0.0.1:${A.http}/healthz`).then((r) => r.ok, () => false));
    if (ok) break;
    await sleep(100);
  }
  const url = `postgres://postgres@127.0.0.1:${A.port}/postgres`;
  const clients = [];
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from({ length: Math.min(50, n - i) }, () => new pg.Client(url));
    await Promise.all(batch.map((c) => c.connect()));
    batch.forEach((c) => c.on('notice', () => {}));
    clients.push(...batch);
  }
  await sleep(1500);
  const before = rss(a.pid);
  const done = new Map();
  const results = clients.map((c, i) =>
    c.query(`COPY (SELECT ${i} AS n) TO STDOUT`).then(() => done.set(i, performance.now()), () => {}),
  );
  const auth = { authorization: `Bearer ${token}` };
  // A's own gauge says when every statement is held (the list API pages at 500).
  const pendingOnA = async () => Number(/^pgwarden_approvals_pending (\d+)/m.exec(await (await fetch(`http://127.0.0.1:${A.http}/metrics`)).text())?.[1] ?? 0);
  for (let i = 0; i < 600 && (await pendingOnA()) < n; i++) {
    if (i % 50 === 0) console.error(`waiting: ${await pendingOnA()} of ${n} held`);
    await sleep(100);
  }
  await sleep(1000);
  const held = rss(a.pid);
  console.log(`| memory of A with ${n} connections held | ${(before / 2 ** 20).toFixed(1)} MiB idle → ${(held / 2 ** 20).toFixed(1)} MiB held | +${((held - before) / 2 ** 20).toFixed(1)} MiB | ${(((held - before) / n) / 1024).toFixed(1)} KiB per held connection |`);
  if (n <= 500) {
    const pending = (await (await fetch(`http://127.0.0.1:${B.http}/api/approvals?status=pending&limit=500`, { headers: auth })).json()).approvals;
    const byN = new Map(pending.map((r) => [Number(/SELECT (\d+) AS n/.exec(r.sql)[1]), r.id]));
    const lat = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await fetch(`http://127.0.0.1:${B.http}/api/approvals/${byN.get(i)}/decision`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ decision: 'approve', reason: 'bench' }) });
      await results[i];
      lat.push(done.get(i) - t0);
    }
    lat.sort((x, y) => x - y);
    const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(1);
    console.log(`| ${n} held on A, decided on B, one at a time | p50 ${q(0.5)} ms | p99 ${q(0.99)} ms | max ${lat[lat.length - 1].toFixed(1)} ms |`);
  }
  await Promise.all(clients.map((c) => c.end()));
} finally {
  a.kill('SIGTERM');
  b.kill('SIGTERM');
}
