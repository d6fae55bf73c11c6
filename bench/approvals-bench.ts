// Benchmark: time from a decision (taken on the other instance) to the holding instance's outcome, with 200 requests pending across two instances sharing one Redis.
// Run: TEST_REDIS_URL=redis://127.0.0.1:63799 npx tsx bench/approvals-bench.ts [pending=200] [rounds=3]
import { performance } from 'node:perf_hooks';
import { nullAuditLog } from '../src/audit/record.js';
import { silentLogger } from '../src/log.js';
import { randomBase32 } from '../src/approvals/ids.js';
import { createRedisStore } from '../src/approvals/redis-store.js';
import { createApprovalService } from '../src/approvals/service.js';
import { makeOpenInput } from '../test/unit/approvals/fixtures.js';

const url = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const pendingCount = Number(process.argv[2] ?? 200);
const rounds = Number(process.argv[3] ?? 3);
const target = 50;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  const keyPrefix = `pgwbench:${randomBase32(8)}:`;
  const stores = [createRedisStore({ url, keyPrefix }), createRedisStore({ url, keyPrefix })];
  for (const s of stores) if (!(await s.ready(5000))) throw new Error(`Redis not reachable at ${url}`);
  const services = stores.map((store, i) =>
    createApprovalService({ store, channels: [], audit: nullAuditLog, logger: silentLogger, instance: `bench-${i}`, publicUrl: 'http://bench', progressIntervalMs: 0 }),
  );
  // Sequential: 200 requests pending, decisions arrive one after another (people click one at a time) — the target.
  // Burst: all 200 decided in the same tick — worst case queueing, reported for information.
  const sequential: number[] = [];
  const burst: number[] = [];
  async function openAll() {
    return Promise.all(Array.from({ length: pendingCount }, (_, i) => services[i % 2]!.open(makeOpenInput({}, { connectionId: `c${i}` }))));
  }
  async function timeOne(pending: Awaited<ReturnType<typeof openAll>>[number], i: number): Promise<number> {
    const start = performance.now();
    // Decided through the other instance: the outcome has to travel Redis pub/sub to the holder.
    const decided = services[(i + 1) % 2]!.decide({ id: pending.request.id, by: 'alice@example.com', decision: 'approve', reason: 'bench' });
    await pending.outcome;
    const ms = performance.now() - start;
    if (!(await decided).ok) throw new Error('decision refused');
    return ms;
  }
  for (let round = 0; round < rounds; round++) {
    const held = await openAll();
    for (let i = 0; i < held.length; i++) sequential.push(await timeOne(held[i]!, i));
    const again = await openAll();
    burst.push(...(await Promise.all(again.map((p, i) => timeOne(p, i)))));
  }
  const summary = (xs: number[]) => {
    xs.sort((a, b) => a - b);
    return { samples: xs.length, p50_ms: +percentile(xs, 50).toFixed(2), p99_ms: +percentile(xs, 99).toFixed(2), max_ms: +xs.at(-1)!.toFixed(2) };
  };
  const seq = summary(sequential);
  const bur = summary(burst);
  console.log(JSON.stringify({ bench: 'approvals_decision_to_outcome', pending: pendingCount, instances: 2, sequential: seq, burst: bur, target_p99_ms: target, pass: seq.p99_ms <= target }));
  await Promise.all(services.map((s) => s.close()));
  await Promise.all(stores.map((s) => s.close()));
  if (seq.p99_ms > target) process.exitCode = 1;
}

await main();
