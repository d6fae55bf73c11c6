// Replay (backtest): re-judges the statements of an audit log under other rules and reports what would change —
// by transition, by deciding rule and by statement shape — with the approvals the change saves or requires.
//
// The recorded verdict is the truth being compared with: the record's `action` (or what its event implies) and `rule`.
// A statement is re-judged only when pgwarden can see it as it was: the stored text re-analyzes to the categories that
// were recorded. Capped texts, texts whose facts depended on a redacted literal (`LIMIT 50000` stored as `LIMIT $1`),
// EXECUTEs of statements prepared outside the log and fast-path calls are counted as not re-judgeable, never guessed.
import type { SqlSession, TextFacts } from '../sql/types.js';
import {
  excerpt,
  isApproved,
  lostRecords,
  outcomeRecord,
  sameCategories,
  statementRecord,
  unrecordedReads,
  type LoggedRecord,
  type NotRejudgeable,
  type Outcome,
  type OutcomeRecord,
  type StatementRecord,
} from './decision-log.js';
import type { RuleSet } from './evaluate.js';
import type { Action, Verdict } from './verdict.js';

/** Conditions `rules replay --fail-on` can fail on (docs/rules.md, "Replay"). */
export const FAIL_ON = ['any', 'denied-approved', 'denied-allowed', 'allowed-denied', 'review-added'] as const;
export type FailOn = (typeof FAIL_ON)[number];

export type Analyze = (text: string, session?: SqlSession) => TextFacts;

export interface ReplayOptions {
  readonly ruleSet: RuleSet;
  readonly analyze: Analyze;
  /** Examples kept per group (default 3). */
  readonly examples?: number;
  /** Only statements whose deciding fingerprints intersect this set are re-judged (suggestions replay one shape). */
  readonly onlyFingerprints?: ReadonlySet<string>;
}

export interface ReplayExample {
  readonly seq: number | null;
  readonly ts: string | null;
  readonly file: string;
  readonly line: number;
  readonly event: string;
  readonly user: string | null;
  readonly application: string | null;
  readonly database: string | null;
  /** The stored text, cut to 240 characters (literals redacted when the log stores `normalized` only). */
  readonly sql: string | null;
  readonly request_id: string | null;
  outcome: Outcome;
}

type OutcomeCounts = Partial<Record<Outcome, number>>;

export interface RuleChange {
  readonly from: Action;
  readonly to: Action;
  readonly old_rule: string | null;
  readonly new_rule: string | null;
  count: number;
  readonly outcomes: OutcomeCounts;
  readonly examples: ReplayExample[];
}

export interface ShapeChange {
  /** Statement fingerprints of the text (several for a multi-statement text, space-separated). */
  readonly fingerprint: string;
  readonly normalized: string;
  readonly from: Action;
  readonly to: Action;
  count: number;
  readonly users: string[];
  readonly databases: string[];
  readonly outcomes: OutcomeCounts;
  readonly examples: ReplayExample[];
}

export interface ReplayReport {
  readonly rules: string;
  /** Time of the first and last statement record replayed (ISO 8601). */
  readonly from: string | null;
  readonly to: string | null;
  readonly statements: number;
  readonly rejudged: number;
  readonly unchanged: number;
  /** Statements whose action would change. */
  readonly changed: number;
  /** Same action (deny or review) decided by another rule: another message or other approvers. */
  readonly rule_changed: number;
  readonly not_rejudgeable: { total: number } & Record<NotRejudgeable, number> & { examples: ReplayExample[] };
  readonly reads: { readonly recorded: number; readonly not_recorded: number };
  /** Statements counted in `denials_summarized` records: judged by the summary's sample (same actor, database, rule, shape). */
  readonly summarized: number;
  /** Records the writer reported lost (`records_lost`) while its audit file failed: the log is that much incomplete. */
  readonly records_lost: number;
  /** `allow→review`: n, … (action changes only). */
  readonly transitions: Record<string, number>;
  readonly approvals: {
    /** Approval requests (review_requested) that would not be needed: review → allow or deny. */
    readonly saved: number;
    /** Statements that ran without review and would now wait for an approver. */
    readonly required: number;
    /** Of the saved: how the humans had decided (approved, denied, expired, withdrawn, granted, pending). */
    readonly saved_outcomes: OutcomeCounts;
  };
  /** How many changed statements meet each --fail-on condition. */
  readonly fail_on: Record<FailOn, number>;
  /** Shadow verdicts the new rules would record (`rule:action` → statements). */
  readonly shadow: Record<string, number>;
  readonly by_rule: RuleChange[];
  readonly by_fingerprint: ShapeChange[];
  /** Shapes that changed, before `top` cut by_fingerprint. */
  readonly by_fingerprint_total: number;
}

/** A change whose outcome is only known once the request's outcome record is read (it may come later in the log). */
interface Deferred {
  readonly requestId: string;
  readonly from: Action;
  readonly to: Action;
  readonly ruleGroup: RuleChange | null;
  readonly shapeGroup: ShapeChange;
  readonly example: ReplayExample | null;
}

const MAX_SESSIONS = 10_000;

function bump(counts: OutcomeCounts, o: Outcome, by = 1): void {
  counts[o] = (counts[o] ?? 0) + by;
}

function failConditions(from: Action, to: Action, outcome: Outcome): FailOn[] {
  const out: FailOn[] = [];
  if (from !== to) out.push('any');
  if (to === 'deny' && from !== 'deny' && isApproved(outcome)) out.push('denied-approved');
  if (to === 'deny' && from === 'allow') out.push('denied-allowed');
  if (to === 'allow' && from !== 'allow' && (outcome === 'refused' || outcome === 'denied')) out.push('allowed-denied');
  if (to === 'review' && from === 'allow') out.push('review-added');
  return out;
}

function hasSessionEffects(facts: TextFacts): boolean {
  for (const s of facts.statements) if (s.prepares !== undefined || s.executes !== undefined) return true;
  return false;
}

export interface Replay {
  /** Feeds one audit record (any event; statement records are judged, outcome and tally records remembered). */
  add(record: LoggedRecord, where: { file: string; line: number }): void;
  /** The report; `top` limits by_fingerprint (default 20), by_rule is complete. */
  finish(top?: number): ReplayReport;
}

export function createReplay(options: ReplayOptions): Replay {
  const { ruleSet, analyze, onlyFingerprints } = options;
  const maxExamples = options.examples ?? 3;
  const sessions = new Map<string, SqlSession>();
  const outcomes = new Map<string, OutcomeRecord>();
  const deferred: Deferred[] = [];
  const byRule = new Map<string, RuleChange>();
  const byShape = new Map<string, ShapeChange>();
  const transitions: Record<string, number> = {};
  const shadow: Record<string, number> = {};
  const failOn = Object.fromEntries(FAIL_ON.map((f) => [f, 0])) as Record<FailOn, number>;
  const savedOutcomes: OutcomeCounts = {};
  const notRejudgeable = { total: 0, capped: 0, no_text: 0, no_actor: 0, facts_differ: 0, examples: [] as ReplayExample[] };
  let statements = 0;
  let rejudged = 0;
  let unchanged = 0;
  let changed = 0;
  let ruleChanged = 0;
  let saved = 0;
  let required = 0;
  let readsRecorded = 0;
  let readsNotRecorded = 0;
  let recordsLost = 0;
  let summarized = 0;
  let first: string | null = null;
  let last: string | null = null;

  function example(st: StatementRecord, where: { file: string; line: number }, outcome: Outcome): ReplayExample {
    return {
      seq: st.seq,
      ts: st.ts,
      file: where.file,
      line: where.line,
      event: st.event,
      user: st.actor?.user ?? null,
      application: st.actor?.application ?? null,
      database: st.database,
      sql: st.text === null ? null : excerpt(st.text),
      request_id: st.requestId,
      outcome,
    };
  }

  function sessionFor(id: string): SqlSession {
    let s = sessions.get(id);
    if (!s) {
      if (sessions.size >= MAX_SESSIONS) sessions.clear();
      s = { prepared: new Map() };
      sessions.set(id, s);
    }
    return s;
  }

  function factsOf(st: StatementRecord): TextFacts {
    const facts = analyze(st.text!);
    // SQL PREPARE/EXECUTE: replayed per connection, in log order, as the proxy saw them.
    if (st.connectionId !== null && hasSessionEffects(facts)) return analyze(st.text!, sessionFor(st.connectionId));
    return facts;
  }

  function notJudged(reason: NotRejudgeable, st: StatementRecord, where: { file: string; line: number }): void {
    notRejudgeable.total += st.weight;
    notRejudgeable[reason] += st.weight;
    if (notRejudgeable.examples.length < maxExamples * 2) notRejudgeable.examples.push(example(st, where, st.outcome ?? 'pending'));
  }

  /** `isRequest`: the record is a review_requested (an approval request was made for it); `w`: statements it stands for. */
  function count(from: Action, to: Action, outcome: Outcome, ruleGroup: RuleChange | null, shapeGroup: ShapeChange, isRequest: boolean, w = 1): void {
    if (ruleGroup) bump(ruleGroup.outcomes, outcome, w);
    bump(shapeGroup.outcomes, outcome, w);
    for (const f of failConditions(from, to, outcome)) failOn[f] += w;
    if (isRequest && to !== 'review') {
      saved += 1;
      bump(savedOutcomes, outcome);
    }
  }

  function recordChange(st: StatementRecord, facts: TextFacts, verdict: Verdict, where: { file: string; line: number }): void {
    const from = st.action;
    const to = verdict.action;
    const w = st.weight;
    if (from !== to) {
      changed += w;
      const t = `${from}→${to}`;
      transitions[t] = (transitions[t] ?? 0) + w;
      if (to === 'review') required += w;
    } else {
      ruleChanged += w;
    }
    const ruleKey = `${from}\u0000${to}\u0000${st.rule ?? ''}\u0000${verdict.rule ?? ''}`;
    let ruleGroup = byRule.get(ruleKey);
    if (!ruleGroup) {
      ruleGroup = { from, to, old_rule: st.rule, new_rule: verdict.rule, count: 0, outcomes: {}, examples: [] };
      byRule.set(ruleKey, ruleGroup);
    }
    ruleGroup.count += w;
    const fingerprint = facts.statements.map((s) => s.fingerprint).join(' ');
    const shapeKey = `${fingerprint}\u0000${from}\u0000${to}`;
    let shapeGroup = byShape.get(shapeKey);
    if (!shapeGroup) {
      shapeGroup = { fingerprint, normalized: excerpt(facts.statements.map((s) => s.normalized).join('; ')), from, to, count: 0, users: [], databases: [], outcomes: {}, examples: [] };
      byShape.set(shapeKey, shapeGroup);
    }
    shapeGroup.count += w;
    const user = st.actor!.user;
    if (!shapeGroup.users.includes(user) && shapeGroup.users.length < 20) shapeGroup.users.push(user);
    if (!shapeGroup.databases.includes(st.database!) && shapeGroup.databases.length < 20) shapeGroup.databases.push(st.database!);

    const known = st.outcome;
    const ex = ruleGroup.examples.length < maxExamples || shapeGroup.examples.length < maxExamples ? example(st, where, known ?? 'pending') : null;
    if (ex && ruleGroup.examples.length < maxExamples) ruleGroup.examples.push(ex);
    if (ex && shapeGroup.examples.length < maxExamples) shapeGroup.examples.push(ex);
    // A held statement's outcome is in a later record (approved, denied, …): counted in finish().
    if (known !== null || st.requestId === null) count(from, to, known ?? 'pending', ruleGroup, shapeGroup, false, w);
    else deferred.push({ requestId: st.requestId, from, to, ruleGroup, shapeGroup, example: ex });
  }

  return {
    add(record, where) {
      const reads = unrecordedReads(record);
      if (reads > 0) {
        readsNotRecorded += reads;
        return;
      }
      const lost = lostRecords(record);
      if (lost > 0) {
        recordsLost += lost;
        return;
      }
      const outcome = outcomeRecord(record);
      if (outcome) {
        outcomes.set(outcome.requestId, outcome);
        return;
      }
      const st = statementRecord(record);
      if (st === null) return;
      statements += st.weight;
      if (st.weight > 1) summarized += st.weight;
      if (st.event === 'statement_read') readsRecorded += 1;
      if (st.ts !== null) {
        if (first === null || st.ts < first) first = st.ts;
        if (last === null || st.ts > last) last = st.ts;
      }
      if (st.problem !== null) return notJudged(st.problem, st, where);
      const facts = factsOf(st);
      if (st.categories !== null && !sameCategories(st.categories, facts.categories)) return notJudged('facts_differ', st, where);
      if (onlyFingerprints !== undefined && !facts.statements.some((s) => onlyFingerprints.has(s.fingerprint))) return;
      rejudged += st.weight;
      // Evaluated directly: a log's texts mostly differ in literals, so a verdict cache keyed by text would only allocate.
      const verdict = ruleSet.evaluate(facts, st.actor!, { database: st.database!, inTransactionBlock: false, now: st.time ?? new Date(0) });
      if (verdict.shadow) {
        const key = `${verdict.shadow.rule ?? 'default'}:${verdict.shadow.action}`;
        shadow[key] = (shadow[key] ?? 0) + st.weight;
      }
      if (verdict.action === st.action && (verdict.rule === st.rule || verdict.action === 'allow')) {
        unchanged += st.weight;
        return;
      }
      recordChange(st, facts, verdict, where);
    },

    finish(top = 20) {
      for (const d of deferred) {
        const o = outcomes.get(d.requestId);
        const outcome: Outcome = o ? o.outcome : 'pending';
        if (d.example) d.example.outcome = outcome;
        count(d.from, d.to, outcome, d.ruleGroup, d.shapeGroup, true);
      }
      deferred.length = 0;
      const shapes = [...byShape.values()].sort((a, b) => b.count - a.count);
      return {
        rules: ruleSet.source,
        from: first,
        to: last,
        statements,
        rejudged,
        unchanged,
        changed,
        rule_changed: ruleChanged,
        not_rejudgeable: notRejudgeable,
        reads: { recorded: readsRecorded, not_recorded: readsNotRecorded },
        summarized,
        records_lost: recordsLost,
        transitions,
        approvals: { saved, required, saved_outcomes: savedOutcomes },
        fail_on: failOn,
        shadow,
        by_rule: [...byRule.values()].sort((a, b) => b.count - a.count),
        by_fingerprint: shapes.slice(0, top),
        by_fingerprint_total: shapes.length,
      };
    },
  };
}
