// Reads docker/Dockerfile and replays its build in a temporary directory, for a machine without a Docker engine:
// every stage gets its own root folder, COPY copies (honouring <Dockerfile>.dockerignore), RUN runs the command.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import picomatch from 'picomatch';

export interface Instruction {
  readonly op: string;
  readonly args: string;
  /** 1-based line of the instruction in the Dockerfile. */
  readonly line: number;
}

/** Instructions in order: comments dropped, `\` continuations joined. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      i++;
      const next = lines[i]!;
      if (/^\s*#/.test(next)) continue;
      line = line.replace(/\\\s*$/, ' ') + next.trim();
    }
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile:${start + 1}: cannot read '${line}'`);
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start + 1 });
  }
  return out;
}

/** Exec form (`["a","b"]`) or shell form (`a b`, run by /bin/sh -c) of RUN/CMD/ENTRYPOINT. */
export function commandOf(args: string): string[] {
  return args.startsWith('[') ? (JSON.parse(args) as string[]) : ['/bin/sh', '-c', args];
}

export interface Stage {
  readonly name: string;
  readonly base: string;
  /** The stage's filesystem root on this machine. */
  readonly root: string;
  workdir: string;
  readonly env: Record<string, string>;
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
  healthcheck?: string[];
  readonly volumes: string[];
  readonly exposed: number[];
  /** Paths a RUN chown'ed (recorded: the replay has no `node` user to give them to). */
  readonly chowned: { owner: string; path: string }[];
}

export interface ReplayOptions {
  readonly dockerfile: string;
  /** The build context (the repository root). */
  readonly context: string;
  /** Empty directory the stages are built in. */
  readonly into: string;
  /** Folder holding the `node` binary that stands for the base image's Node (must match its major version). */
  readonly nodeBinDir: string;
  readonly log?: (line: string) => void;
}

/** Files of the build context that <Dockerfile>.dockerignore lets through (last matching pattern wins, `!` re-includes). */
function contextFilter(dockerfile: string): (rel: string) => boolean {
  const ignoreFile = `${dockerfile}.dockerignore`;
  if (!existsSync(ignoreFile)) return () => true;
  const patterns = readFileSync(ignoreFile, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((p) => ({ negate: p.startsWith('!'), match: picomatch(p.replace(/^!/, ''), { dot: true }) }));
  return (rel) => {
    let included = true;
    for (const p of patterns) if (p.match(rel)) included = p.negate;
    return included;
  };
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** The variables that let a RUN reach the package registry from this machine: proxies, CA bundles, npm_config_*. */
function networkEnv(): Record<string, string> {
  const wanted = /^(https?_proxy|no_proxy|node_extra_ca_certs|ssl_cert_file|ssl_cert_dir|npm_config_[a-z0-9_]+)$/i;
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => wanted.test(e[0]) && e[1] !== undefined));
}

/** Maps an image path to this machine: absolute paths live under the stage root, relative ones under its WORKDIR. */
export function hostPathIn(stage: Stage, imagePath: string): string {
  return imagePath.startsWith('/') ? join(stage.root, imagePath) : join(stage.root, stage.workdir, imagePath);
}

/**
 * A RUN command with its absolute paths moved under the stage root (the command runs on this machine, not in a
 * chroot). Only the final stage's directory set-up uses absolute paths; the build stage works in its WORKDIR.
 */
function mapAbsolutePaths(command: string, stage: Stage): string {
  return command.replace(/(^|[\s=])(\/(?:var|etc|opt|srv|home|tmp|data)(?:\/[^\s;&|]*)?)/g, (_m, pre: string, p: string) => `${pre}${join(stage.root, p)}`);
}

/** Replays the Dockerfile; returns the stages in order (the last one is the image). Throws on an instruction it cannot model. */
export function replayDockerfile(options: ReplayOptions): Stage[] {
  const log = options.log ?? (() => undefined);
  const instructions = parseDockerfile(readFileSync(options.dockerfile, 'utf8'));
  const allowed = contextFilter(options.dockerfile);
  const stages: Stage[] = [];
  // A `chown` that records instead of acting: there is no `node` user on this machine.
  const shims = join(options.into, '.shims');
  mkdirSync(shims, { recursive: true });
  const chownLog = join(options.into, '.chown.log');
  writeFileSync(join(shims, 'chown'), `#!/bin/sh\nowner="$1"; shift\nfor p in "$@"; do case "$p" in -*) ;; *) echo "$owner $p" >> '${chownLog}';; esac; done\n`);
  chmodSync(join(shims, 'chown'), 0o755);

  let stage: Stage | undefined;
  for (const ins of instructions) {
    const where = `Dockerfile:${ins.line}`;
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`${where}: cannot read FROM ${ins.args}`);
      const root = join(options.into, `stage${stages.length}`);
      mkdirSync(root, { recursive: true });
      stage = { name: m[2] ?? String(stages.length), base: m[1]!, root, workdir: '/', env: {}, volumes: [], exposed: [], chowned: [] };
      stages.push(stage);
      continue;
    }
    if (!stage) throw new Error(`${where}: ${ins.op} before FROM`);
    switch (ins.op) {
      case 'WORKDIR':
        stage.workdir = ins.args.startsWith('/') ? ins.args : join(stage.workdir, ins.args);
        mkdirSync(join(stage.root, stage.workdir), { recursive: true });
        break;
      case 'ENV': {
        for (const m of ins.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g)) stage.env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
        break;
      }
      case 'COPY': {
        const words = ins.args.split(/\s+/);
        const flags = words.filter((w) => w.startsWith('--'));
        const paths = words.filter((w) => !w.startsWith('--'));
        const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
        const unknown = flags.filter((f) => !f.startsWith('--from=') && !f.startsWith('--chown='));
        if (unknown.length > 0 || paths.length < 2) throw new Error(`${where}: COPY form not modelled by the replay: ${ins.args}`);
        const dest = paths.pop()!;
        const destHost = hostPathIn(stage, dest);
        const intoDir = dest.endsWith('/') || paths.length > 1;
        for (const src of paths) {
          if (from !== undefined) {
            const source = stages.find((s) => s.name === from);
            if (!source) throw new Error(`${where}: COPY --from=${from}: no such stage`);
            const srcHost = hostPathIn(source, src);
            if (!existsSync(srcHost)) throw new Error(`${where}: COPY --from=${from} ${src}: not found in that stage`);
            const target = statSync(srcHost).isDirectory() ? destHost : intoDir ? join(destHost, basename(srcHost)) : destHost;
            cpSync(srcHost, target, { recursive: true });
          } else {
            const srcHost = join(options.context, src);
            if (!existsSync(srcHost)) throw new Error(`${where}: COPY ${src}: not in the build context`);
            const files = statSync(srcHost).isDirectory() ? walk(srcHost) : [srcHost];
            const kept = files.filter((f) => allowed(relative(options.context, f)));
            if (kept.length === 0) throw new Error(`${where}: COPY ${src}: every file is excluded by ${basename(options.dockerfile)}.dockerignore`);
            for (const f of kept) {
              const target = statSync(srcHost).isDirectory() ? join(destHost, relative(srcHost, f)) : intoDir ? join(destHost, basename(f)) : destHost;
              mkdirSync(dirname(target), { recursive: true });
              cpSync(f, target);
            }
          }
        }
        break;
      }
      case 'RUN': {
        const command = ins.args.startsWith('[') ? commandOf(ins.args) : ['/bin/sh', '-c', mapAbsolutePaths(ins.args, stage)];
        log(`${where}: RUN ${ins.args}`);
        execFileSync(command[0]!, command.slice(1), {
          cwd: join(stage.root, stage.workdir),
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            // The builder's network settings (proxy, extra CA certificates, npm's registry config), as a build would get them.
            ...networkEnv(),
            // The image's PATH, with this machine's stand-in for the base image's Node first.
            PATH: `${shims}:${options.nodeBinDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
            HOME: process.env.HOME ?? '/root',
            // Reuse the npm cache this machine already has (same packages, same integrity hashes as the lockfile).
            npm_config_prefer_offline: 'true',
            ...stage.env,
          },
          maxBuffer: 64 * 1024 * 1024,
        });
        if (existsSync(chownLog)) {
          for (const line of readFileSync(chownLog, 'utf8').split('\n').filter(Boolean)) {
            const [owner, path] = line.split(' ') as [string, string];
            stage.chowned.push({ owner, path: `/${relative(stage.root, path)}` });
          }
          writeFileSync(chownLog, '');
        }
        break;
      }
      case 'USER':
        stage.user = ins.args;
        break;
      case 'VOLUME':
        stage.volumes.push(...commandOf(ins.args).filter((v) => v.startsWith('/')));
        break;
      case 'EXPOSE':
        stage.exposed.push(...ins.args.split(/\s+/).map((p) => Number.parseInt(p, 10)));
        break;
      case 'HEALTHCHECK': {
        const m = /\bCMD\s+(\[.*\])\s*$/.exec(ins.args);
        if (!m) throw new Error(`${where}: HEALTHCHECK without an exec-form CMD`);
        stage.healthcheck = JSON.parse(m[1]!) as string[];
        break;
      }
      case 'ENTRYPOINT':
        stage.entrypoint = commandOf(ins.args);
        break;
      case 'CMD':
        stage.cmd = commandOf(ins.args);
        break;
      default:
        throw new Error(`${where}: ${ins.op} is not modelled by the replay (test/helpers/dockerfile.ts): teach it, or the test cannot vouch for the image`);
    }
  }
  return stages;
}
