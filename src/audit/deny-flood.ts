// Repeated denials of one statement shape by one actor: the first few are recorded whole, the rest are counted
// into one `denials_summarized` record per window, so a flood of denied statements cannot fill the disk.
import type { AuditEvent } from './record.js';

export interface DeniedFloodOptions {
  /** Denials of one (actor, database, rule, shape) recorded one by one per window; 0 turns summarising off. */
  readonly burst: number;
  /** Window length in milliseconds. */
  readonly windowMs: number;
}

/** Keys tracked at once: past this, new shapes are recorded one by one (memory stays bounded whatever the traffic). */
const MAX_KEYS = 10_000;

interface Window {
  readonly startedAt: number;
  seen: number;
  /** Denials counted, not recorded, in this window. */
  counted: number;
  firstAt: string;
  lastAt: string;
  /** The last counted denial, as the summary's sample (text, categories, reason). */
  sample: AuditEvent | null;
  readonly shape: string;
}

export interface DeniedFlood {
  /** True when the denial is to be recorded now; false when it was counted into the window's summary. */
  admit(event: AuditEvent, shape: string | undefined, ts: string): boolean;
  /** Summaries of the windows that ended by `now` (or of every window with `all`). */
  due(now: number, all?: boolean): AuditEvent[];
  /** Windows open (for tests and metrics). */
  size(): number;
}

function keyOf(event: AuditEvent, shape: string): string {
  const a = event.actor;
  return JSON.stringify([a?.user ?? null, a?.application ?? null, a?.address ?? null, event.database ?? null, event.rule ?? null, shape]);
}

export function createDeniedFlood(options: DeniedFloodOptions, clock: () => number = Date.now): DeniedFlood {
  const windows = new Map<string, Window>();
  /** Summaries of windows that ended when a new denial of their key arrived, waiting for `due`. */
  let ready: AuditEvent[] = [];

  function summary(w: Window): AuditEvent {
    const s = w.sample!;
    const { sql, normalized, categories, reason, actor, database, rule } = s;
    return {
      event: 'denials_summarized',
      ...(actor ? { actor } : {}),
      ...(database === undefined ? {} : { database }),
      ...(sql === undefined ? {} : { sql }),
      ...(normalized === undefined ? {} : { normalized }),
      ...(categories ? { categories } : {}),
      ...(rule === undefined ? {} : { rule }),
      ...(reason === undefined ? {} : { reason }),
      fingerprint: w.shape,
      count: w.counted,
      first_at: w.firstAt,
      last_at: w.lastAt,
    };
  }

  return {
    admit(event, shape, ts) {
      if (options.burst <= 0 || !shape) return true;
      const key = keyOf(event, shape);
      const now = clock();
      let w = windows.get(key);
      if (w && now - w.startedAt >= options.windowMs) {
        if (w.counted > 0) ready.push(summary(w));
        windows.delete(key);
        w = undefined;
      }
      if (!w) {
        if (windows.size >= MAX_KEYS) return true;
        windows.set(key, { startedAt: now, seen: 1, counted: 0, firstAt: ts, lastAt: ts, sample: null, shape });
        return true;
      }
      w.seen += 1;
      if (w.seen <= options.burst) return true;
      if (w.counted === 0) w.firstAt = ts;
      w.counted += 1;
      w.lastAt = ts;
      w.sample = event;
      return false;
    },
    due(now, all = false) {
      const out = ready;
      ready = [];
      for (const [key, w] of windows) {
        if (!all && now - w.startedAt < options.windowMs) continue;
        windows.delete(key);
        if (w.counted > 0) out.push(summary(w));
      }
      return out;
    },
    size: () => windows.size,
  };
}
