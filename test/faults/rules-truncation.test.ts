// Rules file truncated or rewritten in place while a real `pgwarden serve` runs: a privileged statement stays denied
// the whole time (the server never returns the file), the refusal is logged at error and counted.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { buildOnce, sleep, startWarden, type Warden } from './warden-process.js';

const RULES = `version: 1
defaults: { action: allow, on_unknown: deny }
rules:
  - id: privileged
    match: { category: [privileged] }
    action: deny
    message: privileged operations are not allowed
  - id: ddl
    match: { category: [ddl] }
    action: deny
`;

let dir: string;
let rulesFile: string;
let warden: Warden;
const hostname = readFileSync('/etc/hostname', 'utf8').trim();

beforeAll(async () => {
  buildOnce();
  dir = mkdtempSync(join(tmpdir(), 'pgw-rules-trunc-'));
  rulesFile = join(dir, 'rules.yaml');
  writeFileSync(rulesFile, RULES);
  warden = await startWarden({ dir, config: { rules: rulesFile } });
});
afterAll(async () => {
  await warden?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends the privileged statement over and over and keeps every outcome, until stopped. */
function probe(url: string): { stop: () => Promise<{ denied: number; returned: string[]; otherErrors: string[] }> } {
  let running = true;
  const returned: string[] = [];
  const otherErrors: string[] = [];
  let denied = 0;
  const loop = (async () => {
    const client = new pg.Client(url);
    await client.connect();
    try {
      while (running) {
        try {
          const r = await client.query("SELECT pg_read_file('/etc/hostname') AS f");
          returned.push(String(r.rows[0]?.f));
        } catch (err) {
          const e = err as pg.DatabaseError;
          if (e.code === '42501' && e.message.includes('privileged operations are not allowed')) denied += 1;
          else otherErrors.push(`${e.code}: ${e.message}`);
        }
        await sleep(10);
      }
    } finally {
      await client.end();
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { denied, returned, otherErrors };
    },
  };
}

it('keeps pg_read_file denied while the rules file is emptied in place and rewritten slowly, and logs and counts the refusal', async () => {
  const p = probe(warden.url());
  await sleep(200);

  // 1. `: > rules.yaml`: the empty file is refused; the old rules stay.
  truncateSync(rulesFile, 0);
  const refusedEmpty = await warden.waitForLog((l) => l.msg === 'new rules refused; the previous rules stay in force' && String(l.error).includes('the rule file is empty'));
  expect(refusedEmpty.level).toBe('error');
  expect(await warden.metric('pgwarden_rules_reloads_total{result="refused"}')).toBeGreaterThanOrEqual(1);
  await sleep(300);

  // 2. A slow writer: the first half, a pause shorter than the stability window, then the rest: read once, whole.
  const okBefore = await warden.metric('pgwarden_rules_reloads_total{result="ok"}');
  let fd = openSync(rulesFile, 'w');
  const half = Math.floor(RULES.length / 2);
  writeSync(fd, RULES.slice(0, half));
  await sleep(100);
  writeSync(fd, RULES.slice(half));
  closeSync(fd);
  await warden.waitForLog((l) => l.msg === 'rules reloaded' && l.count === 2 && warden.logs.indexOf(l) > warden.logs.indexOf(refusedEmpty));
  expect(await warden.metric('pgwarden_rules_reloads_total{result="ok"}')).toBe(okBefore + 1);

  // 3. A writer that stalls longer than the window in the middle of a rule: the half is refused, the rest loads.
  const refusedBefore = await warden.metric('pgwarden_rules_reloads_total{result="refused"}');
  fd = openSync(rulesFile, 'w');
  const cut = RULES.indexOf('action: deny');
  writeSync(fd, RULES.slice(0, cut + 4));
  await sleep(1200);
  expect(await warden.metric('pgwarden_rules_reloads_total{result="refused"}')).toBe(refusedBefore + 1);
  writeSync(fd, RULES.slice(cut + 4));
  closeSync(fd);
  await sleep(1000);
  expect(await warden.metric('pgwarden_rules_reloads_total{result="ok"}')).toBe(okBefore + 2);

  // 4. A file that validates but has no rules (cut after `defaults`), and SIGHUP: refused, never an empty policy.
  writeFileSync(rulesFile, 'version: 1\ndefaults: { action: allow, on_unknown: deny }\nrules: []\n');
  await warden.waitForLog((l) => l.msg === 'new rules refused; the previous rules stay in force' && String(l.error).includes('an empty policy never replaces rules on reload'));
  warden.child.kill('SIGHUP');
  await sleep(500);
  writeFileSync(rulesFile, RULES);
  await sleep(800);

  const { denied, returned, otherErrors } = await p.stop();
  // Server-side effect: the file's content never came back; every attempt was denied by the rule.
  expect(returned).toEqual([]);
  expect(returned.join('')).not.toContain(hostname);
  expect(otherErrors).toEqual([]);
  expect(denied).toBeGreaterThan(50);
  expect(await warden.metric('pgwarden_rules_loaded')).toBe(2);
  // No reload ever reported zero rules.
  expect(warden.logs.filter((l) => l.msg === 'rules reloaded').map((l) => l.count)).not.toContain(0);
});
