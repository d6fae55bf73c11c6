// SIGTERM / SIGINT drain a real `pgwarden serve` (issue 12, item 7): /readyz fails while sessions drain, new
// connections are refused, an idle session gets FATAL 57P01, a held statement is withdrawn with reason `shutdown`
// (57014 to the client, recorded so in the audit log), a running statement finishes within the grace period and its
// session then closes with 57P01, and one still running when the grace ends is cancelled upstream (the server's own
// 57014) — nothing keeps running on the server after pgwarden exits, and the process exits in bounded time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { TEST_RULES, TOKENS } from '../helpers/app.js';
import { pgUrl } from '../helpers/env.js';
import { buildOnce, sleep, startWarden, type Warden } from './warden-process.js';

let dir: string;
let admin: pg.Client;

beforeAll(async () => {
  buildOnce();
  dir = mkdtempSync(join(tmpdir(), 'pgw-shutdown-'));
  writeFileSync(join(dir, 'rules.yaml'), TEST_RULES);
  admin = new pg.Client(pgUrl());
  await admin.connect();
});
afterAll(async () => {
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
});

function start(grace: string, audit: string): Promise<Warden> {
  return startWarden({
    config: {
      rules: join(dir, 'rules.yaml'),
      shutdown_grace: grace,
      audit: { file: audit },
      approvals: { api_tokens: { ...TOKENS }, progress_interval: '1s' },
    },
  });
}

/** A connected client whose asynchronous errors (a FATAL while idle) are collected instead of thrown. */
async function client(w: Warden, application: string): Promise<{ c: pg.Client; errors: Array<{ code?: string; message: string }> }> {
  const c = new pg.Client(w.url(application));
  const errors: Array<{ code?: string; message: string }> = [];
  c.on('error', (e: Error & { code?: string }) => errors.push({ code: e.code, message: e.message }));
  c.on('notice', () => {});
  await c.connect();
  return { c, errors };
}

async function readyz(w: Warden): Promise<{ status: number; body: { failed?: string[] } }> {
  const res = await fetch(`http://127.0.0.1:${w.httpPort}/readyz`);
  return { status: res.status, body: (await res.json()) as { failed?: string[] } };
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

async function upstreamActivity(application: string): Promise<string[]> {
  const r = await admin.query<{ query: string }>(`SELECT query FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'`, [application]);
  return r.rows.map((x) => x.query);
}

async function waitFor(check: () => Promise<boolean> | boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('graceful shutdown', () => {
  it('drains: readiness fails, idle sessions get 57P01, held statements are withdrawn (shutdown), running ones finish', async () => {
    const audit = join(dir, 'drain.jsonl');
    const w = await start('30s', audit);
    expect((await readyz(w)).status).toBe(200);
    const idle = await client(w, 'drain-idle');
    const held = await client(w, 'drain-held');
    const running = await client(w, 'drain-running');
    const heldOutcome = held.c.query('CREATE TABLE drain_never_created (a int)').then(
      () => null,
      (e: Error & { code?: string }) => ({ code: e.code, message: e.message }),
    );
    await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${w.httpPort}/api/approvals?status=pending`, { headers: { authorization: `Bearer ${TOKENS['alice@example.com']}` } });
      return ((await res.json()) as { approvals: unknown[] }).approvals.length === 1;
    }, 'the CREATE TABLE to be held');
    const runningOutcome = running.c.query('SELECT pg_sleep(2) AS slept, 42 AS answer');
    await waitFor(async () => (await upstreamActivity('drain-running')).length === 1, 'the sleep to run upstream');

    const exited = w.stop('SIGTERM', 40_000);
    // While the running statement finishes: not ready (named), and no new connections.
    await waitFor(async () => (await readyz(w).catch(() => ({ status: 0, body: {} }))).status === 503, '/readyz 503');
    expect((await readyz(w)).body.failed).toContain('accepting');
    expect(await refused(w.port)).toBe(true);

    await waitFor(() => idle.errors.length > 0, 'the idle session to be told');
    expect(idle.errors[0]!.code).toBe('57P01');
    expect(idle.errors[0]!.message).toContain('pgwarden is shutting down');

    const h = await heldOutcome;
    expect(h?.code).toBe('57014');
    expect(h?.message).toContain('shutting down');
    const table = await admin.query(`SELECT to_regclass('public.drain_never_created') AS t`);
    expect(table.rows[0].t).toBeNull();

    const r = await runningOutcome;
    expect(r.rows[0]).toEqual({ slept: '', answer: 42 });
    await waitFor(() => running.errors.length > 0, 'the running session to close after its statement');
    expect(running.errors[0]!.code).toBe('57P01');

    expect(await exited).toBe(0);
    const records = readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string; reason?: string });
    expect(records.some((x) => x.event === 'withdrawn' && x.reason === 'shutdown')).toBe(true);
    expect(records.some((x) => x.event === 'withdrawn' && x.reason === 'client_disconnect')).toBe(false);
    for (const x of [idle, held, running]) await x.c.end().catch(() => undefined);
  });

  it('cancels a statement still running when the grace period ends, upstream, and exits in bounded time', async () => {
    const w = await start('1s', join(dir, 'cancel.jsonl'));
    const running = await client(w, 'drain-long');
    const outcome = running.c.query('SELECT pg_sleep(60)').then(
      () => null,
      (e: Error & { code?: string }) => ({ code: e.code, message: e.message }),
    );
    await waitFor(async () => (await upstreamActivity('drain-long')).length === 1, 'the sleep to run upstream');
    const started = Date.now();
    expect(await w.stop('SIGINT', 30_000)).toBe(0);
    // Grace 1 s plus the cancel round trip: far below the 60 s sleep, within the documented bound (grace + 5 s).
    expect(Date.now() - started).toBeLessThan(1_000 + 5_000 + 3_000);
    const o = await outcome;
    expect(o?.code).toBe('57014');
    expect(o?.message).toContain('canceling statement due to user request');
    await waitFor(async () => (await upstreamActivity('drain-long')).length === 0, 'the upstream backend to stop');
    await running.c.end().catch(() => undefined);
  });
});
