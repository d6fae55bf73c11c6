// How replay and suggestions read one audit record: which records are statement decisions, what was decided, what
// text can be re-judged, and how a held statement ended. Pure: the records come from audit/read.ts.
import type { Action, Actor } from './verdict.js';

/** An audit record as replay sees it: the snake_case JSON of docs/audit.md, every field optional and untrusted. */
export type LoggedRecord = Readonly<Record<string, unknown>>;

/** Statement records and the action each stands for when the record predates the `action` field. */
const STATEMENT_EVENTS: Readonly<Record<string, Action>> = {
  statement_allowed: 'allow',
  statement_read: 'allow',
  statement_denied: 'deny',
  review_requested: 'review',
  grant_used: 'review',
  // Allowed by policy, refused because its audit record could not be written (audit.required).
  statement_refused: 'allow',
  // `count` denials of one shape by one actor, summarised by the writer with one of them as the sample.
  denials_summarized: 'deny',
};

const OUTCOME_EVENTS = ['approved', 'denied', 'expired', 'withdrawn'] as const;
type OutcomeEvent = (typeof OUTCOME_EVENTS)[number];

/**
 * How a statement ended when it was recorded: `ran` (policy allowed), `refused` (policy denied, or its review could not
 * be requested), `approved` / `denied` / `expired` / `withdrawn` (a human decision or its absence), `granted` (ran under
 * an approver's fingerprint grant), `pending` (the log ends before the request did).
 */
export type Outcome = 'ran' | 'refused' | 'approved' | 'denied' | 'expired' | 'withdrawn' | 'granted' | 'pending';

/** Why a statement record cannot be judged again. */
export type NotRejudgeable = 'capped' | 'no_text' | 'no_actor' | 'facts_differ';

export interface StatementRecord {
  readonly event: string;
  readonly action: Action;
  readonly rule: string | null;
  /** Text to re-judge: `sql`, else `normalized` (literals redacted); null when the record has neither or was capped. */
  readonly text: string | null;
  readonly isNormalizedOnly: boolean;
  readonly problem: NotRejudgeable | null;
  readonly actor: Actor | null;
  readonly database: string | null;
  readonly ts: string | null;
  readonly time: Date | null;
  readonly categories: readonly string[] | null;
  readonly requestId: string | null;
  readonly connectionId: string | null;
  readonly seq: number | null;
  /** The immediate outcome when the record itself says it (allowed, denied, grant); null for a held statement. */
  readonly outcome: Outcome | null;
  /** How many statements the record stands for: `count` of a denials_summarized record (judged by its sample), else 1. */
  readonly weight: number;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const isAction = (v: unknown): v is Action => v === 'allow' || v === 'deny' || v === 'review';

/**
 * The text to judge again: `sql`, else `normalized`. A text the writer cut to its length limit carries the digest of the
 * whole (`sql_sha256` / `normalized_sha256`, with `…_bytes`): it is not the statement that ran and is never used.
 * `capped` is true when a text was there but every stored form was cut.
 */
export function storedText(r: LoggedRecord): { text: string | null; isNormalizedOnly: boolean; capped: boolean } {
  const sql = typeof r.sql === 'string' && r.sql_sha256 === undefined ? r.sql : null;
  if (sql !== null) return { text: sql, isNormalizedOnly: false, capped: false };
  const normalized = typeof r.normalized === 'string' && r.normalized_sha256 === undefined ? r.normalized : null;
  if (normalized !== null) return { text: normalized, isNormalizedOnly: true, capped: false };
  return { text: null, isNormalizedOnly: false, capped: r.sql_sha256 !== undefined || r.normalized_sha256 !== undefined };
}

function actorOf(v: unknown): Actor | null {
  if (v === null || typeof v !== 'object') return null;
  const a = v as Record<string, unknown>;
  const user = str(a.user);
  if (user === null) return null;
  const owner = str(a.owner);
  return { user, application: str(a.application) ?? '', address: str(a.address) ?? '', ...(owner !== null ? { owner } : {}) };
}

/** The statement decision a record stands for, or null when it is not one (votes, outcomes, tallies, shadows). */
export function statementRecord(r: LoggedRecord): StatementRecord | null {
  const event = str(r.event);
  if (event === null) return null;
  const implied = STATEMENT_EVENTS[event];
  if (implied === undefined) return null;
  const action = isAction(r.action) ? r.action : implied;
  const { text, isNormalizedOnly, capped } = storedText(r);
  const actor = actorOf(r.actor);
  const database = str(r.database);
  const problem: NotRejudgeable | null = capped ? 'capped' : text === null ? 'no_text' : actor === null || database === null ? 'no_actor' : null;
  const ts = str(r.ts);
  const time = ts === null ? null : new Date(ts);
  const categories = Array.isArray(r.categories) && r.categories.every((c) => typeof c === 'string') ? (r.categories as string[]) : null;
  const outcome: Outcome | null =
    event === 'grant_used' ? 'granted' : event === 'statement_refused' || event === 'statement_denied' || event === 'denials_summarized' ? 'refused' : action === 'allow' ? 'ran' : null;
  const weight = event === 'denials_summarized' && typeof r.count === 'number' && Number.isInteger(r.count) && r.count > 0 ? r.count : 1;
  return {
    event,
    action,
    rule: str(r.rule),
    text,
    isNormalizedOnly,
    problem,
    actor,
    database,
    ts,
    time: time !== null && !Number.isNaN(time.getTime()) ? time : null,
    categories,
    requestId: str(r.request_id),
    connectionId: str(r.connection_id),
    seq: typeof r.seq === 'number' ? r.seq : null,
    outcome,
    weight,
  };
}

export interface OutcomeRecord {
  readonly requestId: string;
  readonly outcome: OutcomeEvent;
  /** Who decided (a denial's approver) or approved (the approvers list). */
  readonly by: readonly string[];
  readonly reason: string;
}

/** How a held request ended, or null when the record is not an outcome. */
export function outcomeRecord(r: LoggedRecord): OutcomeRecord | null {
  const event = str(r.event);
  const requestId = str(r.request_id);
  if (event === null || requestId === null || !(OUTCOME_EVENTS as readonly string[]).includes(event)) return null;
  const by = event === 'approved' ? (Array.isArray(r.approvers) ? r.approvers.filter((a): a is string => typeof a === 'string') : []) : str(r.by) !== null ? [str(r.by)!] : [];
  return { requestId, outcome: event as OutcomeEvent, by, reason: str(r.reason) ?? '' };
}

/** The count of a `reads_unrecorded` record, else 0. */
export function unrecordedReads(r: LoggedRecord): number {
  return r.event === 'reads_unrecorded' && typeof r.count === 'number' && r.count > 0 ? r.count : 0;
}

/** The count of a `records_lost` record (the writer could not keep them while the audit file failed), else 0. */
export function lostRecords(r: LoggedRecord): number {
  return r.event === 'records_lost' && typeof r.count === 'number' && r.count > 0 ? r.count : 0;
}

/** Outcomes where a human let the statement run. */
export function isApproved(o: Outcome): boolean {
  return o === 'approved' || o === 'granted';
}

/** Recorded categories equal to freshly analyzed ones (order-insensitive)? */
export function sameCategories(recorded: readonly string[], fresh: readonly string[]): boolean {
  if (recorded.length !== fresh.length) return false;
  for (const c of recorded) if (!fresh.includes(c as never)) return false;
  return true;
}

/** A statement text cut for display in reports (first line, at most `max` characters). */
export function excerpt(text: string, max = 240): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
