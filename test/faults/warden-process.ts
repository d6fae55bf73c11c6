// Runs `pgwarden serve` as a real child process (node dist/cli.js) for fault tests: its JSON log lines, its ports,
// its /metrics, and the signals a test sends it (SIGTERM, SIGKILL). Also a size-limited tmpfs for full-disk tests.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, writeSync, closeSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { recordLogLines } from '../helpers/log-capture.js';
import { pgUrl } from '../helpers/env.js';

export const REPO = resolve(import.meta.dirname, '../..');
export const NODE = resolve(REPO, 'node_modules/.bin/node');
export const CLI = resolve(REPO, 'dist/cli.js');

/** Builds dist/ once per test file (the tests run the bin exactly as users do). */
export function buildOnce(): void {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: REPO, stdio: 'ignore' });
}

export interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

export interface Warden {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly httpPort: number;
  readonly logs: LogLine[];
  /** A connection URL through pgwarden. */
  url(application?: string): string;
  /** Resolves with the first log line (already seen or future) that matches. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  metrics(): Promise<string>;
  /** The value of one metric series (0 when absent). */
  metric(series: string): Promise<number>;
  /** Sends the signal and resolves with the exit code (or the signal name) once the process is gone. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
  readonly exited: Promise<number | string>;
}

export interface WardenOptions {
  /** The config file's content (YAML object); `upstream`, `listen` and `http` are filled in. */
  config?: Record<string, unknown>;
  /** Extra arguments before `serve` (e.g. a bin other than node dist/cli.js is not supported here). */
  env?: NodeJS.ProcessEnv;
  /** Directory for the generated config (default: a new temp dir). */
  dir?: string;
  /** Run the bin itself (its shebang) instead of `node dist/cli.js`. */
  execBin?: boolean;
}

/** Children still running when the test worker exits (a timed-out test) are killed with it, never left behind. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startWarden(options: WardenOptions = {}): Promise<Warden> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'pgw-fault-'));
  const configFile = join(dir, `pgwarden-${Date.now()}.yaml`);
  writeFileSync(configFile, stringify({ upstream: pgUrl(), listen: '127.0.0.1:0', http: '127.0.0.1:0', ...options.config }));
  const args = ['serve', '--config', configFile];
  const env = { ...process.env, PGWARDEN_LOG_LEVEL: 'debug', NODE_ENV: 'production', ...options.env };
  const child = options.execBin ? spawn(CLI, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(NODE, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const logs: LogLine[] = [];
  const waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  let stderr = '';
  let pending = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop()!;
    recordLogLines(parts);
    for (const text of parts) {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        continue;
      }
      logs.push(line);
      for (const w of waiters.slice()) {
        if (w.match(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    recordLogLines(chunk);
  });
  const exited = new Promise<number | string>((res) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      if (ownDir) rmSync(dir, { recursive: true, force: true });
      res(code ?? signal ?? 'unknown');
    }),
  );

  const waitForLog = (match: (line: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> => {
    const seen = logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${stderr}\nlast lines: ${logs.slice(-5).map((l) => JSON.stringify(l)).join('\n')}`)), timeoutMs);
      waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer);
          res(l);
        },
      });
      void exited.then((code) => rej(new Error(`pgwarden exited (${code}) before the expected log line; stderr: ${stderr}`)));
    });
  };

  let serving: LogLine;
  try {
    serving = await waitForLog((l) => l.msg === 'pgwarden is serving', 30_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const port = Number(String(serving.listen).split(':').pop());
  const httpPort = Number(String(serving.http).split(':').pop());

  const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  return {
    child,
    pid: child.pid!,
    port,
    httpPort,
    logs,
    exited,
    url: (application = 'pgw-fault') => `postgres://postgres@127.0.0.1:${port}/postgres?application_name=${application}`,
    waitForLog,
    metrics,
    async metric(series) {
      const text = await metrics();
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line ? Number(line.slice(series.length + 1)) : 0;
    },
    async stop(signal = 'SIGTERM', timeoutMs = 20_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Peak resident memory (VmHWM) of a process, in MiB. */
export function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** A real, size-limited filesystem (tmpfs) to fill up. Needs root (mount); the test fails with the reason otherwise. */
export class SmallDisk {
  readonly dir: string;
  #fillers = 0;

  constructor(sizeKiB: number) {
    this.dir = mkdtempSync(join(tmpdir(), 'pgw-disk-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0777`, 'tmpfs', this.dir], { stdio: 'pipe' });
    } catch (err) {
      rmSync(this.dir, { recursive: true, force: true });
      throw new Error(`full-disk tests mount a ${sizeKiB} KiB tmpfs and need root (or CAP_SYS_ADMIN): ${(err as { stderr?: Buffer }).stderr?.toString().trim() ?? String(err)}`);
    }
  }

  /** Writes filler files until the filesystem answers ENOSPC (down to single bytes), leaving `leaveBytes` free first. */
  fill(leaveBytes = 0): void {
    const path = join(this.dir, `filler-${++this.#fillers}`);
    const fd = openSync(path, 'w');
    try {
      for (let chunk = 64 * 1024; chunk >= 1; chunk = Math.floor(chunk / 2)) {
        const buf = Buffer.alloc(chunk, 0x78);
        for (;;) {
          if (leaveBytes > 0 && this.freeBytes() - chunk < leaveBytes) break;
          try {
            writeSync(fd, buf);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
            throw err;
          }
        }
      }
    } finally {
      closeSync(fd);
    }
  }

  /** Removes every filler file: the space comes back. */
  free(): void {
    for (let i = 1; i <= this.#fillers; i++) {
      try {
        unlinkSync(join(this.dir, `filler-${i}`));
      } catch {
        // already gone
      }
    }
  }

  freeBytes(): number {
    const out = execFileSync('df', ['-B1', '--output=avail', this.dir], { encoding: 'utf8' });
    return Number(out.trim().split('\n').pop());
  }

  unmount(): void {
    try {
      execFileSync('umount', ['-l', this.dir], { stdio: 'pipe' });
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** The JSON records of an audit file (whole lines only). */
export function auditRecords(file: string): Record<string, unknown>[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

/** Runs `pgwarden audit verify --json FILES…` and returns its parsed output and exit code. */
export function verifyCli(files: string[]): { code: number; result: Record<string, unknown>; stdout: string } {
  try {
    const stdout = execFileSync(NODE, [CLI, 'audit', 'verify', ...files], { encoding: 'utf8' });
    const json = execFileSync(NODE, [CLI, 'audit', 'verify', '--json', ...files], { encoding: 'utf8' });
    return { code: 0, result: JSON.parse(json) as Record<string, unknown>, stdout };
  } catch (err) {
    const e = err as { status: number; stdout: string };
    return { code: e.status, result: { raw: e.stdout }, stdout: e.stdout };
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 50 ms until it is true, or throws after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms`);
}
