// The README's commands run the bin the way a user does: `npx pgwarden …` inside the repository (needs an executable dist/cli.js).
import { beforeAll, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { run } from '../helpers/cli.js';

const repo = resolve(import.meta.dirname, '../..');

beforeAll(() => {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: repo, stdio: 'ignore' });
});

it('npx pgwarden --version prints the package version', async () => {
  expect(statSync(resolve(repo, 'dist/cli.js')).mode & 0o111).not.toBe(0);
  const version = (JSON.parse(readFileSync(resolve(repo, 'package.json'), 'utf8')) as { version: string }).version;
  const out = await run('npx', ['--no-install', 'pgwarden', '--version'], { cwd: repo, timeoutMs: 60_000 });
  expect(out.stderr).not.toContain('Permission denied');
  expect(out.code).toBe(0);
  expect(out.stdout.trim()).toBe(version);
});
