// Notices when any of a set of files changes (certificate rotation by cert-manager, a Kubernetes secret volume's
// symlink swap, an operator's cp). Polls with stat: unlike fs.watch it survives the file being replaced by a rename.
import { unwatchFile, watchFile, type Stats } from 'node:fs';

export interface FileWatch {
  close(): void;
}

/**
 * Calls `onChange` (debounced by `settleMs`, so a cert and key written one after the other trigger one reload) whenever
 * one of `paths` changes size, mtime or inode.
 */
export function watchFiles(paths: readonly string[], onChange: () => void, intervalMs = 1000, settleMs = 250): FileWatch {
  let timer: NodeJS.Timeout | null = null;
  const listener = (curr: Stats, prev: Stats) => {
    if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      onChange();
    }, settleMs);
    timer.unref();
  };
  const unique = [...new Set(paths)];
  for (const p of unique) watchFile(p, { interval: intervalMs, persistent: false }, listener);
  return {
    close() {
      if (timer) clearTimeout(timer);
      for (const p of unique) unwatchFile(p, listener);
    },
  };
}
