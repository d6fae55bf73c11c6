// `pgwarden approvals` as a user runs it: the built bin spawned against a real server on port 0 (exit codes, table, messages).
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pendingRequest, startServer, TOKENS, type TestServer } from './fixtures.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const NODE = resolve(ROOT, 'node_modules/.bin/node');
const CLI = resolve(ROOT, 'dist/cli.js');

/** Builds only when the compiled command is missing or older than its source (others build the same tree). */
function buildIfNeeded(): void {
  const out = resolve(ROOT, 'dist/commands/approvals.js');
  const sources = ['src/commands/approvals.ts', 'src/approvals/api-shape.ts', 'src/cli.ts'].map((p) => statSync(resolve(ROOT, p)).mtimeMs);
  if (existsSync(out) && statSync(out).mtimeMs >= Math.max(...sources)) return;
  // Other engineers' files may not typecheck yet; tsc still emits, so judge by the output file.
  spawnSync(resolve(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore' });
  if (!existsSync(out) || statSync(out).mtimeMs < Math.max(...sources)) throw new Error('npm run build did not produce dist/commands/approvals.js');
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function pgwarden(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolveRun) => {
    const clean = { ...process.env };
    delete clean.PGWARDEN_URL;
    delete clean.PGWARDEN_TOKEN;
    execFile(NODE, [CLI, ...args], { cwd: ROOT, env: { ...clean, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolveRun({ code, stdout, stderr });
    });
  });
}

let srv: TestServer;
beforeAll(async () => {
  buildIfNeeded();
  srv = await startServer();
});
afterAll(async () => {
  await srv?.close();
});

const as = (who: keyof typeof TOKENS) => ['--url', srv.url, '--token', TOKENS[who]];

describe('pgwarden approvals', () => {
  it('lists pending requests as a readable table', async () => {
    const req = pendingRequest();
    await srv.store.create(req);
    const run = await pgwarden(['approvals', 'list', ...as('alice@example.com')]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+AGE\s+EXPIRES\s+ACTOR\s+DATABASE\s+RULE\s+CATEGORIES\s+VOTES\s+SQL$/);
    const row = lines.find((l) => l.startsWith(req.id));
    expect(row).toMatch(/pending .*agent_reporting \(claude-code\)\s+app_production\s+exports\s+read,export\s+0\/1\s+\/\* reason: quarterly churn/);
  });

  it('lists as JSON with --json, reading URL and token from the environment', async () => {
    const run = await pgwarden(['approvals', 'list', '--json', '--status', 'pending'], { PGWARDEN_URL: srv.url, PGWARDEN_TOKEN: TOKENS['bob@example.com'] });
    expect(run.code).toBe(0);
    const body = JSON.parse(run.stdout) as { approvals: { status: string }[] };
    expect(body.approvals.length).toBeGreaterThan(0);
    expect(body.approvals.every((a) => a.status === 'pending')).toBe(true);
  });

  it('approves with a reason (exit 0), then a second decision is refused (exit 1 with the message)', async () => {
    const req = pendingRequest();
    await srv.store.create(req);
    const ok = await pgwarden(['approvals', 'approve', req.id, '--reason', 'one-off backfill, OPS-142', ...as('alice@example.com')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`approved ${req.id} (rule exports)`);
    const stored = await srv.store.get(req.id);
    expect(stored?.decisions[0]).toMatchObject({ by: 'alice@example.com', reason: 'one-off backfill, OPS-142', via: 'cli' });
    const again = await pgwarden(['approvals', 'deny', req.id, '--reason', 'too late', ...as('bob@example.com')]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already approved by alice@example\.com/);
  });

  it('says so when --scope fingerprint was narrowed to once because the rule does not allow it', async () => {
    const req = pendingRequest({ scopes: ['once'] });
    await srv.store.create(req);
    const run = await pgwarden(['approvals', 'approve', req.id, '--scope', 'fingerprint', ...as('alice@example.com')]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('note: rule exports does not allow fingerprint approvals (its scope allows: once); your approval covers this statement only (scope: once)');
    expect((await srv.store.get(req.id))?.decisions[0]?.scope).toBe('once');
    const allowed = pendingRequest({ scopes: ['once', 'fingerprint'] });
    await srv.store.create(allowed);
    const granted = await pgwarden(['approvals', 'approve', allowed.id, '--scope', 'fingerprint', ...as('alice@example.com')]);
    expect(granted.code).toBe(0);
    expect(granted.stderr).toBe('');
    expect(granted.stdout).toContain('(scope: fingerprint)');
  });

  it('refuses self-approval with exit 1', async () => {
    const req = pendingRequest({ approvers: [] });
    await srv.store.create(req);
    const run = await pgwarden(['approvals', 'approve', req.id, ...as('agent_reporting')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/agent_reporting requested .* cannot approve/);
  });

  it('denies with exit 0 and says what the agent sees', async () => {
    const req = pendingRequest();
    await srv.store.create(req);
    const run = await pgwarden(['approvals', 'deny', req.id, '--reason', 'use the reporting replica', ...as('bob@example.com')]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/denied .* 42501/);
    expect((await srv.store.get(req.id))?.status).toBe('denied');
  });

  it('exits 2 without a token, with a rejected token, or with a bad flag', async () => {
    const none = await pgwarden(['approvals', 'list', '--url', srv.url]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--token TOKEN or set PGWARDEN_TOKEN/);
    const bad = await pgwarden(['approvals', 'list', '--url', srv.url, '--token', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/token rejected/);
    const flag = await pgwarden(['approvals', 'list', '--status', 'open', ...as('alice@example.com')]);
    expect(flag.code).toBe(2);
  });

  it('exits 3 naming the URL when pgwarden is not reachable', async () => {
    const free = await new Promise<number>((r) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => r(port));
      });
    });
    const url = `http://127.0.0.1:${free}`;
    const run = await pgwarden(['approvals', 'list', '--url', url, '--token', TOKENS['alice@example.com']]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`cannot reach pgwarden at ${url} (ECONNREFUSED)`);
    expect(run.stderr).toMatch(/PGWARDEN_URL/);
  });

  it('shows examples in --help', async () => {
    const run = await pgwarden(['approvals', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Examples:\n\s+export PGWARDEN_URL/);
    expect(run.stdout).toContain('pgwarden approvals approve apr_');
  });
});
