// VerdictCache: verdicts remembered per (facts of a text, database, actor) until the RuleSet changes; clock-dependent verdicts are never kept.
//
// Keyed by the TextFacts object, not by hashing the text again: the parse cache hands out the same
// frozen TextFacts for the same text, so the first lookup is an identity lookup in a WeakMap and
// entries die with the parse-cache entry. Facts built fresh (e.g. EXECUTE merged with a session's
// PREPARE) simply miss and are evaluated.
import type { TextFacts } from '../sql/types.js';
import type { RuleSet } from './evaluate.js';
import type { MatchProbe } from './match.js';
import type { Actor, SessionInfo, Verdict } from './verdict.js';

/** Distinct (database, actor) pairs remembered per text before that text's entries are dropped. */
const MAX_PER_TEXT = 256;

export class VerdictCache {
  #ruleSet: RuleSet | null = null;
  #byFacts = new WeakMap<TextFacts, Map<string, Map<string, Verdict>>>();
  readonly #actorKeys = new WeakMap<Actor, string>();
  readonly #probe: MatchProbe = { consultedTime: false };
  hits = 0;
  misses = 0;

  /** The verdict of `ruleSet` for this text and actor; a new RuleSet (reload) starts an empty cache. */
  evaluate(ruleSet: RuleSet, facts: TextFacts, actor: Actor, session: SessionInfo): Verdict {
    if (ruleSet !== this.#ruleSet) this.clear(ruleSet);
    let actorKey = this.#actorKeys.get(actor);
    if (actorKey === undefined) {
      // Everything a rule can match on is in the key: two actors differing only in identity, groups or auth never share a verdict.
      actorKey = `${actor.user}\u0000${actor.application}\u0000${actor.address}\u0000${actor.identity ?? ''}\u0000${actor.auth ?? ''}\u0000${(actor.groups ?? []).join('\u0001')}`;
      this.#actorKeys.set(actor, actorKey);
    }
    let byDatabase = this.#byFacts.get(facts);
    const byActor = byDatabase?.get(session.database);
    const cached = byActor?.get(actorKey);
    if (cached !== undefined) {
      this.hits++;
      return cached;
    }
    this.misses++;
    const verdict = ruleSet.evaluate(facts, actor, session, this.#probe);
    if (this.#probe.consultedTime) return verdict;
    if (byDatabase === undefined) {
      byDatabase = new Map();
      this.#byFacts.set(facts, byDatabase);
    }
    let slot = byActor;
    if (slot === undefined) {
      slot = new Map();
      byDatabase.set(session.database, slot);
    }
    if (slot.size >= MAX_PER_TEXT) slot.clear();
    slot.set(actorKey, verdict);
    return verdict;
  }

  /** Forgets every verdict (called automatically when a different RuleSet is passed). */
  clear(ruleSet: RuleSet | null = null): void {
    this.#ruleSet = ruleSet;
    this.#byFacts = new WeakMap();
  }
}
