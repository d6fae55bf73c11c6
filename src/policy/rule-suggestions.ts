// Rules learned from decisions: statement shapes (fingerprints × user × database) that approvers approved N times and
// never denied become allow-rule suggestions, shapes denied N times and never approved deny-rule suggestions — each with
// its YAML and fixtures for `pgwarden rules test` built from the real statements. Nothing here changes live policy.
//
// A fingerprint is a 64-bit non-cryptographic hash that ignores literal values, and literal values can change what a
// statement is (`LIMIT 50` vs `LIMIT 500000`, `set_config('role', …)`). So an allow suggestion also pins what the
// approved statements were: their kinds, their tables (only_tables) and — through `not: { category: … }` — no category
// the approvers never saw. A deny suggestion needs no such care: matching more only refuses more.
import { Document, isScalar, visit } from 'yaml';
import { CATEGORIES, type TextFacts } from '../sql/types.js';
import { compileFiles } from './compile.js';
import { createRuleSet, type CompiledRule, type RuleSet } from './evaluate.js';
import { outcomeRecord, sameCategories, statementRecord, type LoggedRecord, type OutcomeRecord } from './decision-log.js';
import { ruleFileSchema } from './schema.js';
import { parseYaml, validateYaml } from './yaml-source.js';
import type { Actor, Verdict } from './verdict.js';
import type { Analyze } from './replay.js';

export const DEFAULT_MIN_DECISIONS = 3;
const MAX_FIXTURE_CASES = 5;
const MAX_FIXTURE_SQL = 4000;
/** Table names with glob characters cannot be written as exact only_tables patterns. */
const GLOB_CHARS = /[*?[\]{}()!+@,\\]/;

interface Held {
  readonly requestId: string;
  readonly text: string;
  readonly actor: Actor;
  readonly database: string;
  readonly ts: string;
  readonly time: Date;
  readonly facts: TextFacts;
  readonly rule: string | null;
}

export interface SuggestionCase {
  readonly sql: string;
  readonly actor: Actor;
  readonly database: string;
  readonly ts: string;
}

export interface Suggestion {
  readonly id: string;
  readonly action: 'allow' | 'deny';
  /** Fingerprints of the statements that needed a decision (the rule matches any of them). */
  readonly fingerprints: readonly string[];
  readonly user: string;
  /** Set when every decision came from the same non-empty application_name (the rule then requires it). */
  readonly application: string | null;
  readonly database: string;
  readonly approved: number;
  readonly denied: number;
  /** Further runs under an approver's fingerprint grant (not decisions). */
  readonly granted: number;
  /** Approver identity → decisions of this suggestion's kind. */
  readonly approvers: Readonly<Record<string, number>>;
  /** Denial reason → times given (deny suggestions). */
  readonly reasons: Readonly<Record<string, number>>;
  readonly first_seen: string;
  readonly last_seen: string;
  /** The rules that held these statements when they were recorded. */
  readonly held_by: readonly string[];
  /** The first rule of the current rules that decides the shape today: the suggestion goes above it. */
  readonly place_before: { readonly rule: string; readonly file: string; readonly line: number } | null;
  readonly normalized: string;
  readonly tables: readonly string[];
  readonly categories: readonly string[];
  /** The rule as YAML (a one-item list, to paste under `rules:`). */
  readonly rule_yaml: string;
  /** A fixture file for `pgwarden rules test` (save under tests/ next to the rules). */
  readonly fixtures_yaml: string;
}

interface Group {
  readonly fingerprints: string[];
  readonly user: string;
  readonly database: string;
  approved: Held[];
  denied: Held[];
  granted: number;
  readonly approvers: Map<string, number>;
  readonly deniers: Map<string, number>;
  readonly reasons: Map<string, number>;
  readonly applications: Set<string>;
}

/** One statement of a text as a text of its own, to ask the rules about it alone. */
function single(facts: TextFacts, i: number): TextFacts {
  const s = facts.statements[i]!;
  return { text: s.text, statements: [s], categories: s.categories, parseError: null };
}

/**
 * A name as a glob that matches only itself: role, application and database names may contain `*`, `?`, `[` … when
 * quoted, and a learned rule for the role "agent*" must not cover every role starting with "agent".
 */
export function literalGlob(name: string): string {
  return name.replace(/[\\*?[\]{}()!+@,|^$]/g, '\\$&');
}

function ruleIdPart(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[^A-Za-z0-9]+/, '').slice(0, 40) || 'x';
}

function tally(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function top(map: ReadonlyMap<string, number>): string | null {
  let best: string | null = null;
  let n = 0;
  for (const [k, v] of map) if (v > n) [best, n] = [k, v];
  return best;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export interface Suggester {
  add(record: LoggedRecord): void;
  /** Suggestions against `ruleSet` (the rules in force now), strongest first. */
  finish(): { suggestions: Suggestion[]; decisions: number; mixed: number };
}

export function createSuggester(options: { ruleSet: RuleSet; analyze: Analyze; minDecisions?: number }): Suggester {
  const { ruleSet, analyze } = options;
  const min = options.minDecisions ?? DEFAULT_MIN_DECISIONS;
  const held = new Map<string, Held>();
  const grants: Held[] = [];
  const outcomes = new Map<string, OutcomeRecord>();

  function judge(facts: TextFacts, h: Pick<Held, 'actor' | 'database' | 'time'>, rules: RuleSet = ruleSet): Verdict {
    return rules.evaluate(facts, h.actor, { database: h.database, inTransactionBlock: false, now: h.time });
  }

  /** Fingerprints of the statements the current rules do not simply allow (what approvers were asked about). */
  function decidingFingerprints(h: Held): string[] {
    const fps = new Set<string>();
    for (let i = 0; i < h.facts.statements.length; i++) {
      const s = h.facts.statements[i]!;
      if (s.fingerprint !== '' && judge(single(h.facts, i), h).action !== 'allow') fps.add(s.fingerprint);
    }
    return [...fps].sort();
  }

  return {
    add(record) {
      const o = outcomeRecord(record);
      if (o) {
        outcomes.set(o.requestId, o);
        return;
      }
      const st = statementRecord(record);
      if (st === null || st.problem !== null || st.time === null || st.ts === null) return;
      if (st.event !== 'review_requested' && st.event !== 'grant_used') return;
      const facts = analyze(st.text!);
      // As in replay: only statements that re-analyze to what was recorded (not capped, not changed by redaction).
      if (facts.parseError !== null || (st.categories !== null && !sameCategories(st.categories, facts.categories))) return;
      const h: Held = { requestId: st.requestId ?? '', text: st.text!, actor: st.actor!, database: st.database!, ts: st.ts, time: st.time, facts, rule: st.rule };
      if (st.event === 'grant_used') grants.push(h);
      else if (st.requestId !== null) held.set(st.requestId, h);
    },

    finish() {
      const groups = new Map<string, Group>();
      const keyOf = (h: Held): { key: string; fingerprints: string[] } | null => {
        const fingerprints = decidingFingerprints(h);
        return fingerprints.length === 0 ? null : { key: `${fingerprints.join(' ')}\u0000${h.actor.user}\u0000${h.database}`, fingerprints };
      };
      let decisions = 0;
      for (const [id, h] of held) {
        const o = outcomes.get(id);
        if (!o || (o.outcome !== 'approved' && o.outcome !== 'denied')) continue;
        decisions += 1;
        const k = keyOf(h);
        if (k === null) continue; // the current rules already allow it
        let g = groups.get(k.key);
        if (!g) {
          g = { fingerprints: k.fingerprints, user: h.actor.user, database: h.database, approved: [], denied: [], granted: 0, approvers: new Map(), deniers: new Map(), reasons: new Map(), applications: new Set() };
          groups.set(k.key, g);
        }
        g.applications.add(h.actor.application);
        if (o.outcome === 'approved') {
          g.approved.push(h);
          for (const by of o.by) tally(g.approvers, by);
        } else {
          g.denied.push(h);
          for (const by of o.by) tally(g.deniers, by);
          if (o.reason.trim() !== '') tally(g.reasons, o.reason.trim());
        }
      }
      for (const h of grants) {
        const k = keyOf(h);
        const g = k && groups.get(k.key);
        if (g) g.granted += 1;
      }
      let mixed = 0;
      const suggestions: Suggestion[] = [];
      for (const g of groups.values()) {
        if (g.approved.length >= min && g.denied.length === 0) suggestions.push(build(g, 'allow'));
        else if (g.denied.length >= min && g.approved.length === 0) {
          // Nothing to learn when the rules in force already refuse the shape.
          const last = g.denied[g.denied.length - 1]!;
          if (judge(last.facts, last).action !== 'deny') suggestions.push(build(g, 'deny'));
        } else if (g.approved.length > 0 && g.denied.length > 0) mixed += 1;
      }
      suggestions.sort((a, b) => b.approved + b.denied - (a.approved + a.denied) || a.id.localeCompare(b.id));
      return { suggestions, decisions, mixed };
    },
  };

  function build(g: Group, action: 'allow' | 'deny'): Suggestion {
    const decided = (action === 'allow' ? g.approved : g.denied).slice().sort((a, b) => a.ts.localeCompare(b.ts));
    const latest = decided[decided.length - 1]!;
    const fpSet = new Set(g.fingerprints);
    const deciding = decided.flatMap((h) => h.facts.statements.filter((s) => fpSet.has(s.fingerprint)));
    const kinds = [...new Set(deciding.map((s) => s.kind))].sort();
    const tables = [...new Set(deciding.flatMap((s) => s.tables))].sort();
    const categories = CATEGORIES.filter((c) => deciding.some((s) => s.categories.includes(c)));
    const application = g.applications.size === 1 && !g.applications.has('') ? [...g.applications][0]! : null;
    const id = `learned-${action}-${ruleIdPart(g.user)}-${g.fingerprints[0]!.slice(0, 8)}`;
    const who = action === 'allow' ? g.approvers : g.deniers;
    const whoText = [...who].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ×${v}`).join(', ');
    const span = `${decided[0]!.ts.slice(0, 10)} – ${latest.ts.slice(0, 10)}`;
    const description =
      action === 'allow'
        ? `approved ${plural(decided.length, 'time')} (${whoText}) ${span}, never denied`
        : `denied ${plural(decided.length, 'time')} (${whoText}) ${span}, never approved`;
    const match: Record<string, unknown> = { fingerprint: g.fingerprints };
    if (action === 'allow') {
      match.kind = kinds;
      if (tables.length > 0 && !tables.some((t) => GLOB_CHARS.test(t))) match.only_tables = tables;
    }
    match.actor = application === null ? { user: literalGlob(g.user) } : { user: literalGlob(g.user), application: literalGlob(application) };
    match.database = literalGlob(g.database);
    const unseen = CATEGORIES.filter((c) => c !== 'unknown' && !categories.includes(c));
    if (action === 'allow' && unseen.length > 0) match.not = { category: unseen };
    const reason = top(g.reasons);
    const rule: Record<string, unknown> = { id, description, match, action };
    if (action === 'deny') rule.message = reason ?? `approvers denied this statement shape ${plural(decided.length, 'time')}; ask a DBA for another way`;

    const ruleYaml = toYaml([rule]);
    const combined = withRuleFirst(ruleSet, id, ruleYaml);
    const cases = fixtureCases(decided, action === 'allow' ? 'approved' : 'denied');
    const other: Actor = { ...latest.actor, user: g.user === 'someone_else' ? 'someone_else_2' : 'someone_else' };
    const negative = { sql: latest.text, actor: other, database: latest.database, ts: latest.ts };
    const fixture = {
      cases: [
        ...cases.map((c) => fixtureCase(c, judge(analyze(c.sql), { ...c, time: new Date(c.ts) }, combined))),
        ...(latest.text.length <= MAX_FIXTURE_SQL ? [fixtureCase(negative, judge(latest.facts, { ...negative, time: latest.time }, combined), `the same shape from another user is not covered by ${id}`)] : []),
      ],
    };
    const decidesToday = judge(latest.facts, latest);
    const placeRule = decidesToday.rule === null ? null : ruleSet.rules.find((r) => r.id === decidesToday.rule);
    return {
      id,
      action,
      fingerprints: g.fingerprints,
      user: g.user,
      application,
      database: g.database,
      approved: g.approved.length,
      denied: g.denied.length,
      granted: g.granted,
      approvers: Object.fromEntries(who),
      reasons: Object.fromEntries(g.reasons),
      first_seen: decided[0]!.ts,
      last_seen: latest.ts,
      held_by: [...new Set(decided.map((h) => h.rule ?? 'default'))],
      place_before: placeRule ? { rule: placeRule.id, file: placeRule.file, line: placeRule.line } : null,
      normalized: latest.facts.statements.map((s) => s.normalized).join('; '),
      tables,
      categories,
      rule_yaml: ruleYaml,
      fixtures_yaml: toYaml(fixture),
    };

  }
}

/**
 * `ruleSet` with a suggested rule (its YAML, a one-item list) above every other rule — where it must go to decide
 * before the rule that held its statements. It takes the policy's `defaults.mode`, as it would when pasted in.
 */
export function withRuleFirst(ruleSet: RuleSet, id: string, ruleYaml: string): RuleSet {
  const src = parseYaml(`${id}.yaml`, `rules:\n${ruleYaml.replace(/^(?=.)/gm, '  ')}`);
  const compiled = compileFiles([{ src, data: validateYaml(src, ruleFileSchema) }]).rules[0]!;
  const rule: CompiledRule = Object.freeze({ ...compiled, mode: ruleSet.defaults.mode });
  return createRuleSet({ rules: [rule, ...ruleSet.rules], warnings: [], source: `${ruleSet.source} + ${id}`, files: ruleSet.files, defaults: ruleSet.defaults, groups: ruleSet.groups });
}

/** YAML in block style, with lists and maps of plain values on one line (`actor: { user: x, database: y }`). */
function toYaml(value: unknown): string {
  const doc = new Document(value);
  visit(doc, {
    Map(_, node) {
      if (node.items.every((p) => isScalar(p.value))) node.flow = true;
    },
    Seq(_, node) {
      if (node.items.every((i) => isScalar(i))) node.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0 });
}

/** Up to five real statements (distinct texts, most recent first) that fit a fixture. */
function fixtureCases(decided: readonly Held[], how: string): (SuggestionCase & { name: string })[] {
  const seen = new Set<string>();
  const out: (SuggestionCase & { name: string })[] = [];
  for (let i = decided.length - 1; i >= 0 && out.length < MAX_FIXTURE_CASES; i--) {
    const h = decided[i]!;
    if (seen.has(h.text) || h.text.length > MAX_FIXTURE_SQL) continue;
    seen.add(h.text);
    out.push({ sql: h.text, actor: h.actor, database: h.database, ts: h.ts, name: `${how} ${h.ts.slice(0, 16).replace('T', ' ')} (request ${h.requestId})` });
  }
  return out;
}

function fixtureCase(c: SuggestionCase & { name?: string }, verdict: Verdict, name?: string): Record<string, unknown> {
  return {
    name: name ?? c.name,
    sql: c.sql,
    actor: { user: c.actor.user, application: c.actor.application, address: c.actor.address },
    database: c.database,
    time: c.ts,
    expect: { action: verdict.action, rule: verdict.rule },
  };
}
