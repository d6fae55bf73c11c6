// Contract: `pgwarden audit verify` as an operator runs it (the built bin, after `npm run build`): output and exit codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createAuditLog } from '../../../src/audit/writer.js';
import { silentLogger } from '../../../src/log.js';

const root = resolve(import.meta.dirname, '../../..');
const node = join(root, 'node_modules/.bin/node');
const cli = join(root, 'dist/cli.js');
let dir: string;
let file: string;
let lines: string[];

function pgwarden(...args: string[]) {
  const r = spawnSync(node, [cli, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pgw-verify-cli-'));
  file = join(dir, 'audit.jsonl');
  const log = await createAuditLog({ file, redactLiterals: false, reads: 'none', readSampleRate: 0, postgres: null, logger: silentLogger, instance: 'cli' });
  for (let i = 0; i < 5; i++) log.append({ event: 'approved', request_id: `apr_${i}`, by: 'alice@example.com', rule: 'ddl' });
  await log.close();
  lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pgwarden audit verify', () => {
  it('exits 0 and prints the records checked and the last hash for an intact log', () => {
    const r = pgwarden('audit', 'verify', file);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ok: 5 records verified in 1 file (seq 1–5)');
    expect(r.stdout).toContain(`last hash: ${(JSON.parse(lines[4]!) as { hash: string }).hash}`);
  });

  it('exits 1 and names file:line, seq and reason of the first broken record', () => {
    const edited = join(dir, 'edited.jsonl');
    writeFileSync(edited, lines.map((l, i) => (i === 2 ? l.replace('alice@example.com', 'mallory@example.com') : l)).join('\n') + '\n');
    const r = pgwarden('audit', 'verify', edited);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^broken: ${edited.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: seq 3: hash does not match`));
  });

  it('exits 1 for a log cut at the end when given an earlier anchor', () => {
    const cut = join(dir, 'cut.jsonl');
    writeFileSync(cut, lines.slice(0, 3).join('\n') + '\n');
    const anchor = (JSON.parse(lines[4]!) as { hash: string }).hash;
    expect(pgwarden('audit', 'verify', cut).code).toBe(0);
    const r = pgwarden('audit', 'verify', cut, '--anchor', anchor);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('is not in the chain');
  });

  it('prints JSON with --json', () => {
    const r = pgwarden('audit', 'verify', '--json', file);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, records: 5, first_seq: 1, last_seq: 5 });
  });

  it('exits 2 for an unreadable file, a missing argument or a malformed anchor', () => {
    const missing = pgwarden('audit', 'verify', join(dir, 'nope.jsonl'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.jsonl: cannot read the audit file \(ENOENT\)/);
    expect(pgwarden('audit', 'verify').code).toBe(2);
    expect(pgwarden('audit', 'verify', file, '--anchor', 'xyz').code).toBe(2);
  });

  it('documents examples and exit codes in --help', () => {
    const r = pgwarden('audit', 'verify', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain('Exit codes: 0 intact, 1 broken');
  });
});
