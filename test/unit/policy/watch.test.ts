import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reload, watchRules, type ReloadResult } from '../../../src/policy/watch.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function nextResult(): { push: (r: ReloadResult) => void; next: () => Promise<ReloadResult> } {
  const queue: ReloadResult[] = [];
  let wake: (() => void) | null = null;
  return {
    push: (r) => {
      queue.push(r);
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
    const dir = mkdtempSync(join(tmpdir(), 'pgwarden-watch-'));
    dirs.push(dir);
    const file = join(dir, 'rules.yaml');
    writeFileSync(file, 'rules: []\n');
    const results = nextResult();
    const watcher = watchRules(file, results.push);
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
    const dir = mkdtempSync(join(tmpdir(), 'pgwarden-watch-'));
    dirs.push(dir);
    writeFileSync(join(dir, '10.yaml'), 'rules: []\n');
    const got: ReloadResult[] = [];
    const watcher = watchRules(dir, (r) => got.push(r));
    watcher.reload();
    watcher.close();
    expect(got).toHaveLength(1);
    expect(got[0]!.ok).toBe(true);
    expect(reload(join(dir, 'missing.yaml')).ok).toBe(false);
  });
});
