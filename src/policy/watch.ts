// Hot reload: watch a rule file or folder, wait until the files are complete (stable size and mtime), and hand each
// new RuleSet — or the reason it was refused — to the caller.
import { watch, statSync, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { loadRules, ruleFiles } from './load.js';
import type { RuleSet } from './evaluate.js';

export type ReloadResult = { ok: true; ruleSet: RuleSet } | { ok: false; error: Error };

/**
 * A change is read only once the rule files have kept the same size, mtime and inode for this long. An in-place
 * rewrite (`: > rules.yaml` followed by a slow writer, an editor that truncates and writes) is then read whole, not
 * half; a writer that pauses longer than this mid-file is read early and, if that half does not validate, refused
 * (the old rules stay) until the rest arrives. Atomic rename (write a temp file, `mv` it over) never shows a half.
 */
export const RELOAD_STABLE_MS = 300;
/** How often the files are re-examined while waiting for them to settle. */
const POLL_MS = 50;

/** Why a policy without rules never replaces one with rules; the text appears in the error log line. */
export const EMPTY_POLICY_REFUSED =
  'the new policy has no rules and the current one has; an empty policy never replaces rules on reload (an empty or cut file must not open everything). Restart pgwarden to start with an explicit `rules: []`';

/**
 * Loads the rules once more. Never throws: an invalid version comes back as { ok: false } and the caller keeps the
 * old rules. With `current`, a policy of zero rules is refused when the current one has rules.
 */
export function reload(path: string, current?: RuleSet): ReloadResult {
  try {
    const ruleSet = loadRules(path);
    if (current && current.rules.length > 0 && ruleSet.rules.length === 0) return { ok: false, error: new Error(`${path}: ${EMPTY_POLICY_REFUSED}`) };
    return { ok: true, ruleSet };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err : new Error(String(err)) };
  }
}

/** Size, mtime and inode of every rule file: equal signatures POLL_MS apart, for RELOAD_STABLE_MS, mean no writer is busy. */
function signature(path: string): string {
  try {
    return ruleFiles(path)
      .map((file) => {
        const s = statSync(file, { bigint: true });
        return `${file}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
      })
      .join('|');
  } catch (err) {
    return `error:${(err as Error).message}`;
  }
}

export interface RulesWatcher {
  /** Reload now (SIGHUP); the result goes to onReload like a file change. */
  reload(): void;
  close(): void;
}

export interface WatchOptions {
  /** The rules in force, so that a reload to an empty policy can be refused. */
  current?: () => RuleSet;
  /** Override RELOAD_STABLE_MS (tests). */
  stableMs?: number;
}

/**
 * Calls onReload after changes to the rules, once the files have settled. A single file is watched through its
 * folder, because editors replace files by rename and a watch on the old inode would go quiet.
 */
export function watchRules(path: string, onReload: (result: ReloadResult) => void, options: WatchOptions = {}): RulesWatcher {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    isDir = false;
  }
  const stableMs = options.stableMs ?? RELOAD_STABLE_MS;
  const folder = isDir ? path : dirname(path);
  const only = isDir ? null : basename(path);
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  let lastSig = '';
  let stableSince = 0;

  const fire = (): void => {
    if (!closed) onReload(reload(path, options.current?.()));
  };
  /** Re-examines the files every POLL_MS; reads them once their signature held for stableMs, and checks it held during the read. */
  const poll = (): void => {
    timer = null;
    if (closed) return;
    const sig = signature(path);
    const now = Date.now();
    if (sig !== lastSig) {
      lastSig = sig;
      stableSince = now;
    }
    if (now - stableSince < stableMs) {
      timer = setTimeout(poll, POLL_MS);
      return;
    }
    const result = reload(path, options.current?.());
    if (signature(path) !== sig) {
      // Written to while we read it: wait for it to settle again.
      timer = setTimeout(poll, POLL_MS);
      return;
    }
    if (!closed) onReload(result);
  };
  const schedule = (): void => {
    if (closed) return;
    lastSig = signature(path);
    stableSince = Date.now();
    if (timer) clearTimeout(timer);
    timer = setTimeout(poll, POLL_MS);
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
      timer = null;
      fire();
    },
    close: () => {
      closed = true;
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}
