// RuleSet: compiled rules + defaults; evaluate(facts, actor, session) → Verdict. First match per statement, strictest across statements.
import { CATEGORIES, type StatementFacts, type TextFacts } from '../sql/types.js';
import { CATEGORY_BIT, categoryMask, testMatch, type CompiledMatch, type MatchProbe } from './match.js';
import type { MatchInput } from './schema.js';
import type { Action, Actor, ReviewSpec, RuleMode, SessionInfo, Verdict } from './verdict.js';

export interface CompiledRule {
  readonly id: string;
  readonly action: Action;
  /** `shadow`: evaluated and recorded as Verdict.shadow, never enforced (the rule's `mode`, else `defaults.mode`). */
  readonly mode: RuleMode;
  /** Where the rule is written (for warnings, `rules validate` and docs links). */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly description: string | null;
  /** The rule's `message`/`reason`: shown to the client on deny and to approvers on review. */
  readonly message: string | null;
  readonly review: ReviewSpec | null;
  /** The match clause as written (after list normalisation), for display and shadow analysis. */
  readonly matchInput: MatchInput;
  readonly match: CompiledMatch;
  /** True when the rule has a `time` window: verdicts that consulted it are never cached. */
  readonly isTimeDependent: boolean;
  /** Prebuilt verdicts (statementIndex 0) by index of the category that matched, in CATEGORIES order. */
  readonly verdicts: readonly Verdict[];
}

export interface PolicyDefaults {
  readonly action: Action;
  readonly onUnknown: Action;
  /** `shadow`: defaults (and rules without their own `mode`) are recorded, not enforced; unmatched statements run. */
  readonly mode: RuleMode;
  readonly unmatched: Verdict;
  readonly unknown: Verdict;
}

export interface RuleSet {
  readonly rules: readonly CompiledRule[];
  readonly warnings: readonly string[];
  /** The path the rules were loaded from. */
  readonly source: string;
  readonly files: readonly string[];
  readonly defaults: PolicyDefaults;
  readonly groups: ReadonlyMap<string, readonly string[]>;
  /** True when some rule has a time window (VerdictCache then skips verdicts that consulted the clock). */
  readonly hasTimeRules: boolean;
  /** True when a rule or the defaults are in shadow mode: verdicts may then carry `shadow`. */
  readonly hasShadow: boolean;
  /**
   * The enforced verdict for a whole text, with `shadow` when shadow-mode rules would have decided otherwise.
   * `probe`, when given, is reset and then tells whether a time window was consulted (such a verdict must not be cached).
   */
  evaluate(facts: TextFacts, actor: Actor, session: SessionInfo, probe?: MatchProbe): Verdict;
}

const RANK: Readonly<Record<Action, number>> = { allow: 0, review: 1, deny: 2 };
const UNKNOWN_BIT = CATEGORY_BIT.unknown;

const EMPTY_VERDICT: Verdict = Object.freeze({ action: 'allow', rule: null, reason: 'empty query', statementIndex: 0 });

function lowestBitIndex(x: number): number {
  return 31 - Math.clz32(x & -x);
}

function highestBitIndex(x: number): number {
  return 31 - Math.clz32(x);
}

/** Builds the per-category verdicts of a rule (reason "rule ddl: category ddl matched" unless it has a message). */
export function ruleVerdicts(id: string, action: Action, message: string | null, review: ReviewSpec | null, m: MatchInput): Verdict[] {
  const others: string[] = [];
  if (m.kind) others.push(`kind ${m.kind.join('|')}`);
  if (m.tables) others.push(`tables ${m.tables.join('|')}`);
  if (m.only_tables) others.push(`only tables ${m.only_tables.join('|')}`);
  if (m.columns) others.push(`columns ${m.columns.join('|')}`);
  if (m.functions) others.push(`functions ${m.functions.join('|')}`);
  if (m.bounded !== undefined) others.push(m.bounded ? 'bounded' : 'unbounded');
  if (m.fingerprint) others.push(`fingerprint ${m.fingerprint.join('|')}`);
  if (m.database) others.push(`database ${m.database.join('|')}`);
  if (m.actor?.user) others.push(`actor.user ${m.actor.user.join('|')}`);
  if (m.actor?.application) others.push(`actor.application ${m.actor.application.join('|')}`);
  if (m.actor?.address) others.push(`actor.address ${m.actor.address.join('|')}`);
  if (m.actor?.identity) others.push(`actor.identity ${m.actor.identity.join('|')}`);
  if (m.actor?.groups) others.push(`actor.groups ${m.actor.groups.join('|')}`);
  if (m.actor?.auth) others.push(`actor.auth ${m.actor.auth.join('|')}`);
  if (m.time) others.push('time window');
  return CATEGORIES.map((category) => {
    const parts = m.category ? [`category ${category}`, ...others] : others;
    const reason = message ?? (parts.length ? `rule ${id}: ${parts.join(', ')} matched` : `rule ${id} matched`);
    return Object.freeze(review ? { action, rule: id, reason, review, statementIndex: 0 } : { action, rule: id, reason, statementIndex: 0 });
  });
}

/** Verdicts of the enforced evaluation when `defaults.mode` is shadow: nothing but `mode: enforce` rules stops a statement. */
const SHADOW_UNMATCHED: Verdict = Object.freeze({ action: 'allow', rule: null, reason: 'no enforced rule matched (defaults.mode is shadow)', statementIndex: 0 });
const SHADOW_UNKNOWN: Verdict = Object.freeze({ action: 'allow', rule: null, reason: 'the statement did not parse (category unknown); defaults.mode is shadow, so defaults.on_unknown is not enforced', statementIndex: 0 });

type TextEvaluator = (facts: TextFacts, actor: Actor, session: SessionInfo, probe: MatchProbe) => Verdict;

/** First match per statement over `rules`, else the fallbacks; strictest across statements. Does not reset `probe`. */
function evaluator(rules: readonly CompiledRule[], unmatched: Verdict, unknown: Verdict): TextEvaluator {
  function unknownVerdict(parseError: string | null): Verdict {
    if (parseError === null) return unknown;
    const reason = `${unknown.reason} — ${parseError}`;
    return Object.freeze({ ...unknown, reason });
  }

  /** The verdict (statementIndex 0) for one statement: first matching rule, else defaults. */
  function decide(stmt: StatementFacts, parseError: string | null, actor: Actor, session: SessionInfo, probe: MatchProbe): Verdict {
    const mask = categoryMask(stmt.categories);
    const isUnknown = (mask & UNKNOWN_BIT) !== 0 || stmt.kind === 'Unknown';
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      // Fail closed: text that did not parse is only allowed by a rule that names category unknown.
      if (isUnknown && r.action === 'allow' && (r.match.categories & UNKNOWN_BIT) === 0) continue;
      if (!testMatch(r.match, stmt, mask, actor, session, probe)) continue;
      const hit = r.match.categories & mask;
      return r.verdicts[hit === 0 ? 0 : lowestBitIndex(hit)]!;
    }
    return isUnknown ? unknownVerdict(parseError) : unmatched;
  }

  return (facts, actor, session, probe) => {
    const stmts = facts.statements;
    if (stmts.length === 0) return facts.parseError !== null || facts.categories.includes('unknown') ? unknownVerdict(facts.parseError) : EMPTY_VERDICT;
    let best = decide(stmts[0]!, facts.parseError, actor, session, probe);
    let bestIndex = 0;
    for (let i = 1; i < stmts.length && best.action !== 'deny'; i++) {
      const v = decide(stmts[i]!, facts.parseError, actor, session, probe);
      const diff = RANK[v.action] - RANK[best.action];
      if (diff > 0 || (diff === 0 && v.action === 'review' && reviewOutranks(stmts[i]!, v, stmts[bestIndex]!, best))) {
        best = v;
        bestIndex = i;
      }
    }
    return bestIndex === 0 ? best : Object.freeze({ ...best, statementIndex: bestIndex });
  };
}

/**
 * Shadow mode (docs/rules.md): the enforced verdict is computed as if shadow-mode rules were not there (and, with
 * `defaults.mode: shadow`, as if the defaults allowed); the shadow verdict is what the whole policy — every rule,
 * the real defaults — would decide. A shadow rule that matches therefore never stops a later enforce rule.
 */
export function createRuleSet(init: Omit<RuleSet, 'evaluate' | 'hasTimeRules' | 'hasShadow'>): RuleSet {
  const { rules, defaults } = init;
  const hasTimeRules = rules.some((r) => r.isTimeDependent);
  const enforcedRules = rules.filter((r) => r.mode === 'enforce');
  const hasShadow = enforcedRules.length !== rules.length || defaults.mode === 'shadow';
  const ownProbe: MatchProbe = { consultedTime: false };
  const whole = evaluator(rules, defaults.unmatched, defaults.unknown);
  const enforced = hasShadow
    ? evaluator(enforcedRules, defaults.mode === 'shadow' ? SHADOW_UNMATCHED : defaults.unmatched, defaults.mode === 'shadow' ? SHADOW_UNKNOWN : defaults.unknown)
    : whole;

  function evaluate(facts: TextFacts, actor: Actor, session: SessionInfo, probe: MatchProbe = ownProbe): Verdict {
    probe.consultedTime = false;
    const verdict = enforced(facts, actor, session, probe);
    if (!hasShadow) return verdict;
    const would = whole(facts, actor, session, probe);
    // Reported when something different would have happened: another action, or a deny/review by another rule
    // (another message or other approvers). Two allows differ in nothing the agent or an approver would see.
    if (would.action === verdict.action && (would.rule === verdict.rule || would.action === 'allow')) return verdict;
    return Object.freeze({
      ...verdict,
      shadow: Object.freeze({ action: would.action, rule: would.rule, reason: would.reason, statementIndex: would.statementIndex, source: 'policy' as const }),
    });
  }

  return Object.freeze({ ...init, hasTimeRules, hasShadow, evaluate });
}

/**
 * Two statements both need review but one request can carry only one ReviewSpec: the statement of
 * the more sensitive category wins (a GRANT's reviewers over a CREATE TABLE's), then the higher quorum.
 */
function reviewOutranks(stmt: StatementFacts, v: Verdict, bestStmt: StatementFacts, best: Verdict): boolean {
  const a = highestBitIndex(categoryMask(stmt.categories));
  const b = highestBitIndex(categoryMask(bestStmt.categories));
  if (a !== b) return a > b;
  return (v.review?.quorum ?? 1) > (best.review?.quorum ?? 1);
}
