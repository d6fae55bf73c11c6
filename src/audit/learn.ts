// Replay and suggestions over audit files: reads the records (read.ts) into policy's replay and suggester. Used by
// `pgwarden rules replay|suggest` and by the running server's GET /api/suggestions.
import { stat } from 'node:fs/promises';
import type { RuleSet } from '../policy/evaluate.js';
import { createReplay, type Analyze, type FailOn, type ReplayReport } from '../policy/replay.js';
import { createSuggester, withRuleFirst, type Suggestion } from '../policy/rule-suggestions.js';
import { createAnalyzer, loadSqlParser } from '../sql/analyze.js';
import { scanAuditFiles, type ScanSummary } from './read.js';

/** Parse-cache entries for a replay: repeated texts are free, repeated shapes nearly so (sql/shape.ts). */
const REPLAY_CACHE_ENTRIES = 10_000;

export interface LogWindow {
  readonly files: readonly string[];
  readonly since?: Date;
  readonly until?: Date;
  /** limits.max_rows of the instance that wrote the log (a LIMIT above it is an export). */
  readonly maxRows: number;
}

async function analyzerFor(maxRows: number): Promise<Analyze> {
  await loadSqlParser();
  const analyzer = createAnalyzer({ maxRows, cacheEntries: REPLAY_CACHE_ENTRIES });
  return (text, session) => analyzer.analyze(text, session);
}

function scanOptions(w: LogWindow) {
  return { ...(w.since ? { since: w.since } : {}), ...(w.until ? { until: w.until } : {}) };
}

export async function replayAuditFiles(w: LogWindow & { ruleSet: RuleSet; examples?: number; top?: number }): Promise<{ report: ReplayReport; scan: ScanSummary }> {
  const replay = createReplay({ ruleSet: w.ruleSet, analyze: await analyzerFor(w.maxRows), ...(w.examples !== undefined ? { examples: w.examples } : {}) });
  const scan = await scanAuditFiles(w.files, (record, where) => replay.add(record, where), scanOptions(w));
  return { report: replay.finish(w.top), scan };
}

/** What adding one suggestion (above the current rules) would have changed in the same log. */
export interface SuggestionReplay {
  readonly statements: number;
  readonly changed: number;
  readonly transitions: Record<string, number>;
  readonly approvals_saved: number;
  readonly approvals_required: number;
  /** Changed statements outside the suggestion's own transition (review→allow or review→deny): should be 0. */
  readonly other_changes: number;
  readonly fail_on: Partial<Record<FailOn, number>>;
}

export interface SuggestionsResult {
  readonly suggestions: (Suggestion & { replay: SuggestionReplay })[];
  /** Approval requests with a human decision (approved or denied) in the window. */
  readonly decisions: number;
  /** Shapes approvers both approved and denied: no suggestion. */
  readonly mixed: number;
  readonly min_decisions: number;
  readonly files: readonly string[];
  readonly since: string | null;
  readonly computed_at: string;
}

export async function suggestFromAuditFiles(w: LogWindow & { ruleSet: RuleSet; minDecisions: number }): Promise<SuggestionsResult> {
  const analyze = await analyzerFor(w.maxRows);
  const suggester = createSuggester({ ruleSet: w.ruleSet, analyze, minDecisions: w.minDecisions });
  await scanAuditFiles(w.files, (record) => suggester.add(record), scanOptions(w));
  const { suggestions, decisions, mixed } = suggester.finish();

  // Second pass: each suggestion replayed on its own (its fingerprints only: nothing else can change).
  const replays = suggestions.map((s) => ({ s, replay: createReplay({ ruleSet: withRuleFirst(w.ruleSet, s.id, s.rule_yaml), analyze, examples: 0, onlyFingerprints: new Set(s.fingerprints) }) }));
  // A suggestion's rule requires its user and database: only those records can change (and need analyzing) for it.
  // Outcome records carry no statement but are needed to know how held statements ended.
  const isOutcome = (record: Record<string, unknown>) => record.event === 'approved' || record.event === 'denied' || record.event === 'expired' || record.event === 'withdrawn';
  const userOf = (record: Record<string, unknown>) => (record.actor !== null && typeof record.actor === 'object' ? (record.actor as Record<string, unknown>).user : undefined);
  if (replays.length > 0) {
    await scanAuditFiles(
      w.files,
      (record, where) => {
        const outcome = isOutcome(record);
        const user = userOf(record);
        for (const r of replays) if (outcome || (user === r.s.user && record.database === r.s.database)) r.replay.add(record, where);
      },
      scanOptions(w),
    );
  }
  return {
    suggestions: replays.map(({ s, replay }) => {
      const report = replay.finish(0);
      const own = `review→${s.action}`;
      const failOn = Object.fromEntries(Object.entries(report.fail_on).filter(([k, v]) => v > 0 && k !== 'any')) as Partial<Record<FailOn, number>>;
      return {
        ...s,
        replay: {
          statements: report.rejudged,
          changed: report.changed,
          transitions: report.transitions,
          approvals_saved: report.approvals.saved,
          approvals_required: report.approvals.required,
          other_changes: report.changed - (report.transitions[own] ?? 0),
          fail_on: failOn,
        },
      };
    }),
    decisions,
    mixed,
    min_decisions: w.minDecisions,
    files: w.files,
    since: w.since?.toISOString() ?? null,
    computed_at: new Date().toISOString(),
  };
}

export interface SuggestionsQuery {
  readonly since: Date;
  readonly minDecisions: number;
}

/** Suggestions from a running instance's own audit file, recomputed at most every `ttlMs` or when the rules or file change. */
export interface SuggestionsProvider {
  list(query: SuggestionsQuery): Promise<SuggestionsResult>;
}

export function createSuggestionsProvider(options: { file: string; rules: () => RuleSet; maxRows: number; ttlMs?: number }): SuggestionsProvider {
  const ttlMs = options.ttlMs ?? 60_000;
  let last: { key: string; ruleSet: RuleSet; at: number; result: Promise<SuggestionsResult> } | null = null;
  // One computation at a time: requests for other windows wait instead of scanning the file side by side.
  let queue: Promise<unknown> = Promise.resolve();
  return {
    async list(query) {
      const ruleSet = options.rules();
      const st = await stat(options.file).catch(() => ({ size: 0, mtimeMs: 0 }));
      // The window start is rounded to the minute so that repeated requests share one computation. The file grows with
      // every statement, so a result is reused for ttlMs whatever was appended since (new rules recompute at once).
      const since = new Date(Math.floor(query.since.getTime() / 60_000) * 60_000);
      const key = `${since.toISOString()}|${query.minDecisions}`;
      const now = Date.now();
      if (last && last.key === key && last.ruleSet === ruleSet && now - last.at < ttlMs) return last.result;
      const result = st.size === 0
        ? Promise.resolve({ suggestions: [], decisions: 0, mixed: 0, min_decisions: query.minDecisions, files: [options.file], since: since.toISOString(), computed_at: new Date().toISOString() })
        : queue.then(() => suggestFromAuditFiles({ files: [options.file], since, maxRows: options.maxRows, ruleSet, minDecisions: query.minDecisions }));
      queue = result.catch(() => undefined);
      last = { key, ruleSet, at: now, result };
      result.catch(() => {
        if (last?.result === result) last = null;
      });
      return result;
    },
  };
}
