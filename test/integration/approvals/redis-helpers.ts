// Helpers for approvals tests against real Redis: a unique key prefix per test, and a private redis-server that a test may kill and restart.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBase32 } from '../../../src/approvals/ids.js';

export function redisUrl(): string {
  const url = process.env.TEST_REDIS_URL;
  if (!url) throw new Error('TEST_REDIS_URL is not set: run eval "$(scripts/test-services.sh | sed \'s/^/export /\')" first');
  return url;
}

export function uniquePrefix(): string {
  return `pgwt:${randomBase32(8)}:`;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A redis-server of our own with an append-only file, so its data survives the restart a test performs. */
export class PrivateRedis {
  private child: ChildProcess | null = null;
  readonly dir = mkdtempSync(join(tmpdir(), 'pgwarden-redis-'));
  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.startProcess();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async startProcess(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${out}`));
      });
    });
  }

  /** SIGTERM: Redis shuts down cleanly (its AOF is fsynced on every write here), as in a rolling restart. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    this.child = null;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.startProcess();
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/** A redis-server process started with arguments of our choosing (Sentinel, Cluster node), killed by stop(). */
export class RedisProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(port: number, args: string[], dir: string): Promise<RedisProcess> {
    const child = spawn('redis-server', [...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`redis-server ${args.join(' ')} did not start: ${out}`)), 10_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        if (/Ready to accept connections|Running mode=sentinel/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${out}`));
      });
    });
    return new RedisProcess(child, port);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
    });
  }
}

/** A primary and one Sentinel monitoring it as `name`: what `redis+sentinel://` URLs point at. */
export class PrivateSentinel {
  readonly dir = mkdtempSync(join(tmpdir(), 'pgwarden-sentinel-'));
  private readonly processes: RedisProcess[] = [];
  private constructor(
    readonly primaryPort: number,
    readonly sentinelPort: number,
    readonly name: string,
  ) {}

  static async start(name = 'pgwmaster'): Promise<PrivateSentinel> {
    const s = new PrivateSentinel(await freePort(), await freePort(), name);
    s.processes.push(await RedisProcess.start(s.primaryPort, ['--port', String(s.primaryPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], s.dir));
    writeFileSync(
      join(s.dir, 'sentinel.conf'),
      `port ${s.sentinelPort}\nbind 127.0.0.1\nsentinel monitor ${name} 127.0.0.1 ${s.primaryPort} 1\nsentinel down-after-milliseconds ${name} 5000\n`,
    );
    // redis-sentinel is redis-server in sentinel mode (Debian's redis-sentinel package only adds a service unit).
    s.processes.push(await RedisProcess.start(s.sentinelPort, [join(s.dir, 'sentinel.conf'), '--sentinel'], s.dir));
    return s;
  }

  get url(): string {
    return `redis+sentinel://127.0.0.1:${this.sentinelPort}/${this.name}`;
  }

  get primaryUrl(): string {
    return `redis://127.0.0.1:${this.primaryPort}`;
  }

  async destroy(): Promise<void> {
    for (const p of this.processes.reverse()) await p.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Three primaries in cluster mode, slots assigned by redis-cli --cluster create: what `redis+cluster://` URLs point at. */
export class PrivateCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'pgwarden-cluster-'));
  private readonly processes: RedisProcess[] = [];
  private constructor(readonly ports: number[]) {}

  static async start(): Promise<PrivateCluster> {
    const c = new PrivateCluster([await freePort(), await freePort(), await freePort()]);
    for (const port of c.ports) {
      const dir = join(c.dir, String(port));
      mkdirSync(dir);
      c.processes.push(
        await RedisProcess.start(port, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'], dir),
      );
    }
    await new Promise<void>((resolve, reject) => {
      const create = spawn('redis-cli', ['--cluster', 'create', ...c.ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      create.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      create.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      create.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`redis-cli --cluster create failed (${code}): ${out}`))));
    });
    return c;
  }

  get url(): string {
    return `redis+cluster://${this.ports.map((p) => `127.0.0.1:${p}`).join(',')}`;
  }

  async destroy(): Promise<void> {
    for (const p of this.processes.reverse()) await p.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
