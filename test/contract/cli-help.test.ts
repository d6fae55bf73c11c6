// The README cannot drift from the CLI: every command is found by walking `--help` of the built bin, and every flag
// each one shows must appear in README.md. Also: every command's --help has examples, and --version works.
import { existsSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/cli.js';

const NODE = 'node_modules/.bin/node';
const help = async (path: string[]) => {
  const r = await run(NODE, ['dist/cli.js', ...path, '--help'], { env: { NO_COLOR: '1', COLUMNS: '200' } });
  expect(r.code, `pgwarden ${path.join(' ')} --help: ${r.stderr}`).toBe(0);
  return r.stdout;
};

/** Lines of one section ("Options:", "Commands:") of commander's help, up to the next blank line. */
function section(text: string, title: string): string[] {
  const lines = text.split('\n');
  const start = lines.indexOf(title);
  if (start < 0) return [];
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    out.push(line);
  }
  return out;
}

/** Long flags an Options section declares, e.g. `  -V, --version` → --version, `--no-activity` stays as written. */
function flagsOf(text: string): string[] {
  const flags: string[] = [];
  for (const line of section(text, 'Options:')) {
    const m = /^\s{2}(?:-\w, )?(--[a-z0-9][a-z0-9-]*)/.exec(line);
    if (m) flags.push(m[1]!);
  }
  return flags;
}

/** Subcommand names a Commands section lists (without `help`). */
function commandsOf(text: string): string[] {
  return section(text, 'Commands:')
    .map((line) => /^\s{2}([a-z][a-z-]*)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && name !== 'help');
}

/** Every command path of the CLI, found by walking the help (so new commands are covered without editing this test). */
async function commandTree(path: string[] = []): Promise<{ path: string[]; text: string }[]> {
  const text = await help(path);
  const out = [{ path, text }];
  for (const name of commandsOf(text)) out.push(...(await commandTree([...path, name])));
  return out;
}

let tree: { path: string[]; text: string }[];

beforeAll(async () => {
  const build = await run('npm', ['run', '--silent', 'build'], { timeoutMs: 180_000 });
  expect(build.code, build.stderr + build.stdout).toBe(0);
  tree = await commandTree();
}, 240_000);

describe('pgwarden --help', () => {
  it('lists every command the design promises', () => {
    const names = tree.map((c) => c.path.join(' '));
    expect(names).toEqual(expect.arrayContaining(['serve', 'check', 'rules test', 'rules validate', 'approvals list', 'approvals approve', 'approvals deny', 'audit verify', 'demo']));
  });

  it('every flag any command shows is documented in README.md', () => {
    expect(existsSync('README.md'), 'README.md is missing').toBe(true);
    const readme = readFileSync('README.md', 'utf8');
    const missing: string[] = [];
    for (const { path, text } of tree) {
      for (const flag of flagsOf(text)) {
        if (flag === '--help') continue;
        // A flag counts as documented when README shows it as a flag: followed by a space, '=', '`', ')' , ',' or line end.
        if (!new RegExp(`${flag.replace(/[-]/g, '\\-')}(?![a-z0-9-])`).test(readme)) missing.push(`pgwarden ${path.join(' ') || '(top level)'} ${flag}`);
      }
    }
    expect(missing, `README.md does not mention these flags:\n  ${missing.join('\n  ')}`).toEqual([]);
  });

  it('the top-level --help shows examples, where to run it and the exit codes', () => {
    const top = tree.find((c) => c.path.length === 0)!.text;
    expect(top).toMatch(/Examples:\n\s+\$ pgwarden demo/);
    expect(top).toContain('pgwarden is not on the npm registry');
    expect(top).toMatch(/Exit codes: 0 success; 1 .*2 bad usage, config or rules; 3 a service could not be\s+reached/s);
  });

  it('every leaf command shows examples in its --help', () => {
    const leaves = tree.filter((c) => c.path.length > 0 && commandsOf(c.text).length === 0);
    const without = leaves.filter((c) => !/Examples?:/i.test(c.text) && !tree.some((p) => p.path.length === c.path.length - 1 && p.path.every((x, i) => x === c.path[i]) && /Examples?:/i.test(p.text)));
    expect(without.map((c) => c.path.join(' '))).toEqual([]);
  });

  it('--version prints the package version', async () => {
    const r = await run(NODE, ['dist/cli.js', '--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe((JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
  });

  it('an unknown command or flag is a usage error (exit 2) that points to --help', async () => {
    const r = await run(NODE, ['dist/cli.js', 'demo', '--no-such-flag'], { env: { NO_COLOR: '1' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--no-such-flag'/);
    expect(r.stderr).toMatch(/--help/);
    const c = await run(NODE, ['dist/cli.js', 'frobnicate'], { env: { NO_COLOR: '1' } });
    expect(c.code).toBe(2);
  });
});
