import { mkdtempSync, openSync, closeSync, rmSync, writeFileSync, writeSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadRules } from '../../../src/policy/load.js';
import { reload, watchRules, type ReloadResult } from '../../../src/policy/watch.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pgwarden-watch-'));
  dirs.push(dir);
  return dir;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DENY_PRIVILEGED = 'version: 1\ndefaults: { action: allow, on_unknown: review }\nrules:\n  - id: privileged\n    match: { category: privileged }\n    action: deny\n  - id: ddl\n    match: { category: ddl }\n    action: deny\n';
const EXPLICIT_EMPTY = 'defaults: { action: allow }\nrules: []\n';

function nextResult(): { push: (r: ReloadResult) => void; next: () => Promise<ReloadResult>; all: ReloadResult[] } {
  const queue: ReloadResult[] = [];
  const all: ReloadResult[] = [];
  let wake: (() => void) | null = null;
  return {
    all,
    push: (r) => {
      queue.push(r);
      all.push(r);
      wake?.();
    },
    next: async () => {
      while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return queue.shift()!;
    },
  };
}

describe('watchRules', () => {
  it('reloads after a file change and reports an invalid version without throwing', async () => {
    const file = join(tempDir(), 'rules.yaml');
    writeFileSync(file, EXPLICIT_EMPTY);
    const results = nextResult();
    const watcher = watchRules(file, results.push, { stableMs: 50 });
    try {
      writeFileSync(file, 'rules:\n  - { id: d, match: { category: ddl }, action: deny }\n');
      const ok = await results.next();
      expect(ok.ok && ok.ruleSet.rules.map((r) => r.id)).toEqual(['d']);

      writeFileSync(file, 'rules:\n  - { id: d, match: { category: exprt }, action: deny }\n');
      const bad = await results.next();
      expect(bad.ok).toBe(false);
      expect(!bad.ok && bad.error.message).toMatch(/rules\.yaml:2:33: unknown category 'exprt'/);
    } finally {
      watcher.close();
    }
  });

  it('reload() on demand (SIGHUP) delivers a result at once', () => {
    const dir = tempDir();
    writeFileSync(join(dir, '10.yaml'), EXPLICIT_EMPTY);
    const got: ReloadResult[] = [];
    const watcher = watchRules(dir, (r) => got.push(r));
    watcher.reload();
    watcher.close();
    expect(got).toHaveLength(1);
    expect(got[0]!.ok).toBe(true);
    expect(reload(join(dir, 'missing.yaml')).ok).toBe(false);
  });

  it('never lets a policy without rules replace one with rules, even an explicit `rules: []`', () => {
    const file = join(tempDir(), 'rules.yaml');
    writeFileSync(file, DENY_PRIVILEGED);
    const current = loadRules(file);
    writeFileSync(file, EXPLICIT_EMPTY);
    const refused = reload(file, current);
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error.message).toMatch(/the new policy has no rules and the current one has; an empty policy never replaces rules on reload/);
    // Without rules in force (an explicitly empty start), an explicitly empty file is fine.
    expect(reload(file, loadRules(file)).ok).toBe(true);
  });

  it('an in-place truncation (: > rules.yaml) is refused, and the rest of a slow write is loaded whole', async () => {
    const file = join(tempDir(), 'rules.yaml');
    writeFileSync(file, DENY_PRIVILEGED);
    let current = loadRules(file);
    const results = nextResult();
    const watcher = watchRules(file, (r) => {
      if (r.ok) current = r.ruleSet;
      results.push(r);
    }, { current: () => current, stableMs: 1000 });
    try {
      truncateSync(file, 0);
      const truncated = await results.next();
      expect(truncated.ok).toBe(false);
      expect(!truncated.ok && truncated.error.message).toMatch(/the rule file is empty/);
      expect(current.rules.map((r) => r.id)).toEqual(['privileged', 'ddl']);

      // A writer that writes the first half, pauses for less than the stability window, then writes the rest.
      const fd = openSync(file, 'w');
      const half = Math.floor(DENY_PRIVILEGED.length / 2);
      writeSync(fd, DENY_PRIVILEGED.slice(0, half));
      await sleep(50);
      writeSync(fd, DENY_PRIVILEGED.slice(half));
      closeSync(fd);
      const whole = await results.next();
      expect(whole.ok).toBe(true);
      await sleep(300);
      // The half file was never read: no result between the truncation and the whole file.
      expect(results.all.map((r) => r.ok)).toEqual([false, true]);
      expect(current.rules.map((r) => r.id)).toEqual(['privileged', 'ddl']);
    } finally {
      watcher.close();
    }
  });
});
