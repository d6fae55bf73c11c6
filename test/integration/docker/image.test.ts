// The container image, built without a Docker engine: docker/Dockerfile's steps are replayed in a temporary
// directory (test/helpers/dockerfile.ts), the compose service's mounts and .env.example are applied, and the image's
// own ENTRYPOINT + command is started. It must serve /healthz and /readyz, pass its HEALTHCHECK, and run the
// approval loop the compose docs promise: a DDL statement waits, the approver from .env.example approves it with
// the token from .env.example, and the table exists on the server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { replayDockerfile, hostPathIn, type Stage } from '../../helpers/dockerfile.js';
import { pgUrl, redisUrl } from '../../helpers/env.js';

const repo = resolve(import.meta.dirname, '../../..');
const dockerDir = join(repo, 'docker');
const nodeBinDir = join(repo, 'node_modules/node/bin');

interface ComposeService {
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
}

/** docker/.env.example as compose reads docker/.env (KEY=value lines). */
function envExample(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(join(dockerDir, '.env.example'), 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR:?message}. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::([-?])([^}]*))?\}/g, (_m, name: string, kind: string | undefined, rest: string) => {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (kind === '?') throw new Error(`compose would refuse to start: ${name} is unset (${rest})`);
    return kind === '-' ? rest : '';
  });
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

async function waitForHttp(url: string, child: ChildProcess, output: () => string, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (child.exitCode !== null) throw new Error(`pgwarden exited with ${child.exitCode}:\n${output()}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms:\n${output()}`);
}

describe('the image built from docker/Dockerfile, started as compose starts it', () => {
  let dir: string;
  let image: Stage;
  let stages: Stage[];
  let child: ChildProcess;
  let output = '';
  let httpPort: number;
  let proxyPort: number;
  const env = envExample();
  const [approver, token] = env.PGWARDEN_API_TOKENS!.split(',')[0]!.split('=') as [string, string];
  const table = `compose_probe_${process.pid}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pgw-image-'));
    stages = replayDockerfile({ dockerfile: join(dockerDir, 'Dockerfile'), context: repo, into: dir, nodeBinDir });
    image = stages.at(-1)!;

    // compose: bind mounts and named volumes of the pgwarden service.
    const compose = parseYaml(readFileSync(join(dockerDir, 'compose.yaml'), 'utf8')) as { services: Record<string, ComposeService> };
    const service = compose.services.pgwarden!;
    for (const volume of service.volumes ?? []) {
      const [src, dst] = volume.split(':') as [string, string];
      const target = join(image.root, dst);
      if (src.startsWith('.')) cpSync(join(dockerDir, src), target, { recursive: true });
      else mkdirSync(target, { recursive: true });
    }

    // The compose network becomes this machine: postgres:5432 and redis:6379 are the test services, and the
    // container's ports are free ports here. Container paths in the config move under the image root.
    httpPort = await freePort();
    proxyPort = await freePort();
    const configPath = join(image.root, '/etc/pgwarden/pgwarden.yaml');
    const config = parseYaml(readFileSync(configPath, 'utf8')) as Record<string, any>;
    expect(config.upstream).toBe('postgres://postgres:5432');
    expect(config.redis).toBe('redis://redis:6379');
    const pgu = new URL(pgUrl());
    config.upstream = `postgres://${pgu.hostname}:${pgu.port || 5432}`;
    config.redis = redisUrl();
    config.redis_key_prefix = `pgw-image-${process.pid}:`;
    config.listen = `127.0.0.1:${proxyPort}`;
    config.http = `127.0.0.1:${httpPort}`;
    config.rules = hostPathIn(image, config.rules as string);
    config.audit.file = hostPathIn(image, config.audit.file as string);
    writeFileSync(configPath, stringifyYaml(config));

    const containerEnv: Record<string, string> = { ...image.env };
    for (const [k, v] of Object.entries(service.environment ?? {})) containerEnv[k] = interpolate(v, env);
    const argv = [...image.entrypoint!, ...(service.command ?? image.cmd!)].map((a) => (a.startsWith('/') ? hostPathIn(image, a) : a));
    expect(argv[0]).toBe('node');
    child = spawn(join(nodeBinDir, 'node'), argv.slice(1), {
      cwd: join(image.root, image.workdir),
      env: { PATH: `${nodeBinDir}:/usr/bin:/bin`, HOME: image.root, ...containerEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await waitForHttp(`http://127.0.0.1:${httpPort}/healthz`, child, () => output);
  }, 240_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    const client = new pg.Client({ connectionString: pgUrl() });
    await client.connect();
    await client.query(`DROP TABLE IF EXISTS ${table}`);
    await client.end();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('builds dist/ with decide.lua and an executable bin, and keeps the compiler out of the image', () => {
    const app = join(image.root, image.workdir);
    expect(existsSync(join(app, 'dist/cli.js'))).toBe(true);
    expect(existsSync(join(app, 'dist/approvals/decide.lua'))).toBe(true);
    expect(readFileSync(join(app, 'dist/approvals/decide.lua'), 'utf8')).toBe(readFileSync(join(repo, 'src/approvals/decide.lua'), 'utf8'));
    expect(existsSync(join(app, 'node_modules/typescript'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/vitest'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/prom-client'))).toBe(true);
    expect(existsSync(join(app, 'src'))).toBe(false);
  });

  it("uses a Node whose major version is the base image's", () => {
    const major = /^node:(\d+)/.exec(image.base)?.[1];
    const version = spawnSync(join(nodeBinDir, 'node'), ['--version'], { encoding: 'utf8' }).stdout.trim();
    expect(version).toMatch(new RegExp(`^v${major}\\.`));
  });

  it('runs as the node user with the audit volume owned by it', () => {
    expect(image.user).toBe('node');
    expect(image.volumes).toContain('/var/lib/pgwarden');
    expect(image.chowned).toContainEqual({ owner: 'node:node', path: '/var/lib/pgwarden' });
    expect(existsSync(join(image.root, 'var/lib/pgwarden'))).toBe(true);
  });

  it('serves /healthz and /readyz (upstream, Redis and the mounted rules all ready)', async () => {
    const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
    const body = (await ready.json()) as { status: string; checks: Record<string, string> };
    expect(ready.status, JSON.stringify(body)).toBe(200);
    expect(body.status).toBe('ready');
    expect(Object.keys(body.checks).sort()).toEqual(['accepting', 'redis', 'rules', 'upstream']);
  });

  it("passes the image's own HEALTHCHECK command, which fails where nothing answers", async () => {
    const [cmd, ...args] = image.healthcheck!;
    expect(cmd).toBe('node');
    const result = spawnSync(join(nodeBinDir, 'node'), args, { env: { PGWARDEN_HEALTH_PORT: String(httpPort) }, timeout: 10_000 });
    expect(result.status).toBe(0);
    const down = spawnSync(join(nodeBinDir, 'node'), args, { env: { PGWARDEN_HEALTH_PORT: String(await freePort()) }, timeout: 10_000 });
    expect(down.status).toBe(1);
  });

  it('links approvers to approvals.public_url from .env.example, not to 0.0.0.0', () => {
    expect(env.PGWARDEN_PUBLIC_URL).toMatch(/^https?:\/\//);
    expect(output).not.toMatch(/0\.0\.0\.0:7433\/#/);
  });

  it("holds a DDL statement until the .env.example approver approves it with the .env.example token; the table then exists", async () => {
    const proxied = new pg.Client({ host: '127.0.0.1', port: proxyPort, user: new URL(pgUrl()).username || 'postgres', database: 'postgres', application_name: 'image-test' });
    const notices: string[] = [];
    proxied.on('notice', (n) => notices.push(n.message ?? ''));
    await proxied.connect();
    try {
      const held = proxied.query(`CREATE TABLE ${table} (id int)`);
      const api = `http://127.0.0.1:${httpPort}`;
      let pending: { id: string; sql: string } | undefined;
      for (let i = 0; i < 200 && !pending; i++) {
        const res = await fetch(`${api}/api/approvals?status=pending`, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(200);
        pending = ((await res.json()) as { approvals: { id: string; sql: string }[] }).approvals.find((a) => a.sql.includes(table));
        if (!pending) await new Promise((r) => setTimeout(r, 50));
      }
      expect(pending, 'the CREATE TABLE is waiting for approval').toBeDefined();
      expect(notices.join('\n')).toContain(`${env.PGWARDEN_PUBLIC_URL}/#/approvals/${pending!.id}`);
      const decision = await fetch(`${api}/api/approvals/${pending!.id}/decision`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ decision: 'approve', reason: 'compose smoke test' }),
      });
      expect(decision.status, await decision.clone().text()).toBe(200);
      expect(((await decision.json()) as { decisions: { by: string }[] }).decisions[0]!.by).toBe(approver);
      await held;
    } finally {
      await proxied.end();
    }
    const direct = new pg.Client({ connectionString: pgUrl() });
    await direct.connect();
    const { rows } = await direct.query('SELECT to_regclass($1) AS t', [table]);
    await direct.end();
    expect(rows[0].t).toBe(table);
    expect(readFileSync(hostPathIn(image, '/var/lib/pgwarden/audit.jsonl'), 'utf8')).toContain(approver);
  });

  it('stops cleanly on SIGTERM (exit 0), as `docker stop` sends', async () => {
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
