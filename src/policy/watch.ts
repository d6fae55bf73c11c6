// Hot reload: watch a rule file or folder (fs.watch, debounced) and hand each new RuleSet — or the reason it was refused — to the caller.
import { watch, statSync, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { loadRules } from './load.js';
import type { RuleSet } from './evaluate.js';

export type ReloadResult = { ok: true; ruleSet: RuleSet } | { ok: false; error: Error };

/** Coalesces the burst of events one save produces (editors write, rename and chmod). */
export const RELOAD_DEBOUNCE_MS = 100;

/** Loads the rules once more. Never throws: an invalid version comes back as { ok: false } and the caller keeps the old rules. */
export function reload(path: string): ReloadResult {
  try {
    return { ok: true, ruleSet: loadRules(path) };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
  }
}

export interface RulesWatcher {
  /** Reload now (SIGHUP); the result goes to onReload like a file change. */
  reload(): void;
  close(): void;
}

/**
 * Calls onReload after changes to the rules. A single file is watched through its folder, because
 * editors replace files by rename and a watch on the old inode would go quiet.
 */
export function watchRules(path: string, onReload: (result: ReloadResult) => void): RulesWatcher {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    isDir = false;
  }
  const folder = isDir ? path : dirname(path);
  const only = isDir ? null : basename(path);
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const fire = (): void => {
    timer = null;
    if (!closed) onReload(reload(path));
  };
  const schedule = (): void => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(fire, RELOAD_DEBOUNCE_MS);
  };

  const watcher: FSWatcher = watch(folder, { persistent: false }, (_event, name) => {
    if (only !== null && name !== null && name !== only) return;
    if (isDir && name !== null && !/\.ya?ml$/i.test(name)) return;
    schedule();
  });
  watcher.on('error', (error) => {
    if (!closed) onReload({ ok: false, error });
  });

  return {
    reload: () => {
      if (timer) clearTimeout(timer);
      fire();
    },
    close: () => {
      closed = true;
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}
