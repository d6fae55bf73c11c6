// What a statement does to the session's namespace of prepared statements and portals once it completes: SQL PREPARE,
// DEALLOCATE [ALL], DISCARD ALL, and cursors (DECLARE/CLOSE share the portal namespace). SQL-level and protocol-level
// prepared statements are one namespace in PostgreSQL, so a protocol Bind can run what SQL PREPARE created.
import { parseSql } from '../sql/parse.js';
import type { StatementFacts, TextFacts } from '../sql/types.js';

export interface StatementEffect {
  /** SQL PREPARE: the name it creates, with the PREPARE statement's own text and facts (decided again on every use). */
  readonly prepares?: { readonly name: string; readonly text: string; readonly facts: TextFacts | undefined };
  /** DEALLOCATE name, or every prepared statement (DEALLOCATE ALL, DISCARD ALL). */
  readonly deallocates?: string | typeof ALL;
  /** DECLARE/CLOSE cursor, DISCARD ALL: portals may have been created or dropped under names pgwarden does not track. */
  readonly portals?: true;
}

export const ALL = Symbol('all');

export interface NamespaceEffects {
  /** Per statement of the text, in order (a Query completes them one CommandComplete at a time). */
  readonly statements: readonly (StatementEffect | null)[];
  /** Prepared-statement names that may change (for resolving a name while the statement is still in flight). */
  readonly names: ReadonlySet<string> | typeof ALL;
  readonly portals: boolean;
  /** The text could not be read: once it ran, no name it may have touched can be trusted. */
  readonly unknown?: true;
}

const NONE: NamespaceEffects = Object.freeze({ statements: Object.freeze([]), names: new Set<string>(), portals: false });
/** When pgwarden cannot tell what a text does (it did not parse): anything may have changed. */
const UNKNOWN: NamespaceEffects = Object.freeze({ statements: Object.freeze([]), names: ALL, portals: true, unknown: true as const });

const cache = new WeakMap<TextFacts, NamespaceEffects>();

type Raw = Record<string, Record<string, unknown>>;

function effectOfNode(kind: string, node: Record<string, unknown>): StatementEffect | null {
  switch (kind) {
    case 'DeallocateStmt':
      return { deallocates: typeof node.name === 'string' ? node.name : ALL };
    case 'DiscardStmt':
      return node.target === 'DISCARD_ALL' ? { deallocates: ALL, portals: true } : null;
    case 'DeclareCursorStmt':
    case 'ClosePortalStmt':
      return { portals: true };
    default:
      return null;
  }
}

/** The one statement of `text` as a raw parse node, or null. Used only for the rare statement kinds that need names. */
function rawNode(text: string, kind: string): Record<string, unknown> | null {
  const parsed = parseSql(text);
  if (!parsed.ok || parsed.stmts.length !== 1) return null;
  return ((parsed.stmts[0]!.stmt as Raw)[kind] as Record<string, unknown> | undefined) ?? null;
}

function single(stmt: StatementFacts): TextFacts {
  return Object.freeze({ text: stmt.text, statements: Object.freeze([stmt]), categories: stmt.categories, parseError: null });
}

function collect(effects: (StatementEffect | null)[]): NamespaceEffects {
  if (effects.every((e) => e === null)) return NONE;
  let names: Set<string> | typeof ALL = new Set();
  let portals = false;
  for (const e of effects) {
    if (!e) continue;
    if (e.portals) portals = true;
    if (e.deallocates === ALL) names = ALL;
    else if (names !== ALL) {
      if (e.deallocates !== undefined) names.add(e.deallocates);
      if (e.prepares) names.add(e.prepares.name);
    }
  }
  return Object.freeze({ statements: Object.freeze(effects), names, portals });
}

/** Effects of a decided text, from the facts the gate reported; from the text itself when the gate reported none. */
let lastFacts: TextFacts | undefined;
let lastEffects: NamespaceEffects = NONE;

export function effectsOf(text: string, facts: TextFacts | undefined): NamespaceEffects {
  if (facts === undefined) return effectsOfText(text);
  // A prepared statement's facts come back on every Execute: remember the last answer without a WeakMap lookup.
  if (facts === lastFacts) return lastEffects;
  lastFacts = facts;
  lastEffects = effectsFromFacts(facts);
  return lastEffects;
}

function effectsFromFacts(facts: TextFacts): NamespaceEffects {
  const hit = cache.get(facts);
  if (hit) return hit;
  let out: NamespaceEffects;
  if (facts.parseError !== null) out = UNKNOWN;
  else if (!facts.statements.some(changesNames)) out = NONE;
  else {
    out = collect(
      facts.statements.map((s): StatementEffect | null => {
        if (s.prepares !== undefined) return { prepares: { name: s.prepares, text: s.text, facts: single(s) } };
        if (s.kind === 'DeallocateStmt' || s.kind === 'DiscardStmt' || s.kind === 'DeclareCursorStmt' || s.kind === 'ClosePortalStmt') {
          const node = rawNode(s.text, s.kind);
          return node === null ? { deallocates: ALL, portals: true } : effectOfNode(s.kind, node);
        }
        return null;
      }),
    );
  }
  // Only texts that change names are cached: most facts objects are new per text (the shape cache rebuilds them), and a
  // WeakMap entry for each would cost the garbage collector more than recomputing `NONE`.
  if (out !== NONE) cache.set(facts, out);
  return out;
}

function changesNames(s: StatementFacts): boolean {
  return s.prepares !== undefined || s.kind === 'DeallocateStmt' || s.kind === 'DiscardStmt' || s.kind === 'DeclareCursorStmt' || s.kind === 'ClosePortalStmt';
}

/** Gates that report no facts (tests, the allow-all gate): parse the text for its namespace effects. */
function effectsOfText(text: string): NamespaceEffects {
  const parsed = parseSql(text);
  if (!parsed.ok) return UNKNOWN;
  const bytes = Buffer.from(text, 'utf8');
  return collect(
    parsed.stmts.map((raw): StatementEffect | null => {
      const kind = Object.keys(raw.stmt)[0] ?? '';
      const node = (raw.stmt as Raw)[kind] ?? {};
      if (kind === 'PrepareStmt' && typeof node.name === 'string') {
        const start = raw.stmt_location ?? 0;
        const slice = bytes.toString('utf8', start, raw.stmt_len ? start + raw.stmt_len : bytes.length).trim();
        return { prepares: { name: node.name, text: slice, facts: undefined } };
      }
      return effectOfNode(kind, node);
    }),
  );
}
