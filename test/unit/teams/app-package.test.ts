// scripts/teams-app-package.mjs: a flat zip Teams accepts (checked with Debian's unzip), with the app id and host
// filled in everywhere the manifest needs them, and a clear refusal of a bad app id or host.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../../..');
const script = join(repo, 'scripts/teams-app-package.mjs');
const APP_ID = '4f1c2a5e-0000-4000-8000-00000000b07a';

function pack(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });
}

function unzip(args: string[]) {
  const r = spawnSync('unzip', args, { encoding: 'buffer' });
  if (r.error) throw new Error(`unzip could not run (${r.error.message}): apt-get install unzip (.ci/run does)`);
  return r;
}

describe('scripts/teams-app-package.mjs', () => {
  it('writes a valid flat zip of manifest.json, color.png and outline.png with the app id and host filled in', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'pgw-teams-app-')), 'pgwarden-teams.zip');
    const r = pack(['--app-id', APP_ID, '--host', 'pgwarden.example.com', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(unzip(['-tq', out]).status).toBe(0);
    expect(unzip(['-Z1', out]).stdout.toString().trim().split('\n').sort()).toEqual(['color.png', 'manifest.json', 'outline.png']);
    const manifest = JSON.parse(unzip(['-p', out, 'manifest.json']).stdout.toString()) as Record<string, any>;
    expect(manifest.id).toBe(APP_ID);
    expect(manifest.bots[0].botId).toBe(APP_ID);
    expect(manifest.validDomains).toEqual(['pgwarden.example.com']);
    expect(manifest.developer.websiteUrl).toBe('https://pgwarden.example.com');
    expect(JSON.stringify(manifest)).not.toContain('00000000-0000-0000-0000-000000000000');
    expect(unzip(['-p', out, 'color.png']).stdout.equals(readFileSync(join(repo, 'docker/teams-app/color.png')))).toBe(true);
    expect(unzip(['-p', out, 'outline.png']).stdout.equals(readFileSync(join(repo, 'docker/teams-app/outline.png')))).toBe(true);
  });

  it('takes the app id and host from PGWARDEN_TEAMS_APP_ID and PGWARDEN_PUBLIC_URL', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'pgw-teams-app-')), 'app.zip');
    const r = pack(['--out', out], { PGWARDEN_TEAMS_APP_ID: APP_ID, PGWARDEN_PUBLIC_URL: 'https://approvals.corp.example:8443/console' });
    expect(r.status, r.stderr).toBe(0);
    const manifest = JSON.parse(unzip(['-p', out, 'manifest.json']).stdout.toString()) as { validDomains: string[] };
    expect(manifest.validDomains).toEqual(['approvals.corp.example']);
  });

  it('refuses a missing or malformed app id and host with exit 2 and the reason', () => {
    expect(pack(['--host', 'pgwarden.example.com'])).toMatchObject({ status: 2, stderr: expect.stringContaining('--app-id is required') });
    expect(pack(['--app-id', 'my-bot', '--host', 'pgwarden.example.com'])).toMatchObject({ status: 2, stderr: expect.stringContaining('--app-id must be a GUID') });
    expect(pack(['--app-id', APP_ID, '--host', 'https://pgwarden.example.com/'])).toMatchObject({ status: 2, stderr: expect.stringContaining('--host must be a host name') });
  });
});
