// A real pgwarden process for approvals fault tests: `node dist/cli.js serve` with its own config file, audit file and
// instance name, its ports read from the "pgwarden is serving" log line. Tests kill it (-9), stop it and continue it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { run } from '../helpers/cli.js';
import { pgUrl } from '../helpers/env.js';
import { TEST_RULES, TOKENS } from '../helpers/app.js';

const CLI = resolve(import.meta.dirname, '../../dist/cli.js');

export interface WardenOptions {
  readonly instance: string;
  readonly redis: string;
  readonly redisPrefix: string;
  readonly heartbeatInterval?: string;
  readonly instanceTimeout?: string;
  /** Reuse another process's audit file (a restart). */
  readonly auditFile?: string;
}

export class WardenProcess {
  private exited: Promise<void>;
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly api: string,
    readonly auditFile: string,
    readonly logs: () => string,
  ) {
    this.exited = new Promise((r) => child.once('exit', () => r()));
  }

  static async start(options: WardenOptions): Promise<WardenProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'pgw-fault-'));
    const rules = join(dir, 'rules.yaml');
    writeFileSync(rules, TEST_RULES);
    const auditFile = options.auditFile ?? join(dir, 'audit.jsonl');
    const config = join(dir, 'pgwarden.yaml');
    writeFileSync(
      config,
      stringify({
        listen: '127.0.0.1:0',
        http: '127.0.0.1:0',
        upstream: pgUrl(),
        rules,
        redis: options.redis,
        redis_key_prefix: options.redisPrefix,
        instance: options.instance,
        audit: { file: auditFile },
        approvals: {
          progress_interval: '1s',
          heartbeat_interval: options.heartbeatInterval ?? '250ms',
          instance_timeout: options.instanceTimeout ?? '1500ms',
          api_tokens: { ...TOKENS },
        },
        log: { level: 'info', pretty: false },
      }),
    );
    const child = spawn(process.execPath, [CLI, 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const serving = await new Promise<{ listen: string; http: string }>((resolvePorts, reject) => {
      const timer = setTimeout(() => reject(new Error(`pgwarden did not start within 20 s:\n${out}`)), 20_000);
      const check = () => {
        for (const line of out.split('\n')) {
          if (!line.includes('"pgwarden is serving"')) continue;
          clearTimeout(timer);
          const parsed = JSON.parse(line) as { listen: string; http: string };
          resolvePorts(parsed);
          return;
        }
      };
      child.stdout!.on('data', check);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`pgwarden exited with ${code} before serving:\n${out}`));
      });
    });
    const port = Number(serving.listen.split(':').pop());
    return new WardenProcess(child, port, `http://${serving.http}`, auditFile, () => out);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** kill -9: no shutdown code runs, nothing is withdrawn, the heartbeat simply stops. */
  async kill9(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGSTOP / SIGCONT: the process is alive but silent (a long GC pause, a frozen VM, a network partition from Redis). */
  pause(): void {
    this.child.kill('SIGSTOP');
  }

  resume(): void {
    this.child.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** `pgwarden audit verify FILE` through the built CLI. */
export function auditVerify(file: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(process.execPath, [CLI, 'audit', 'verify', file]);
}
