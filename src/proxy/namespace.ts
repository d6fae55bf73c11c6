// Prepared statements and portals as the server has them: a name is recorded only when the server confirms it
// (ParseComplete, BindComplete, CloseComplete, the CommandComplete of PREPARE/DEALLOCATE/DISCARD, errors), never when
// the client asks for it. A name still in flight resolves optimistically only within its own Sync unit, where an
// error would make the server skip every later message of the unit anyway; across units pgwarden waits for the answer.
import type { TextFacts } from '../sql/types.js';
import type { Verdict } from '../policy/verdict.js';
import type { TxStatus } from './codes.js';
import { ReplyKind, type ExpectedReply, type ReplyListener, type ReplyQueue } from './replies.js';
import { ALL, type StatementEffect } from './session-effects.js';

export interface PreparedStatement {
  readonly name: string;
  /** The statement text as decoded when it was parsed (what the server parsed), or the SQL PREPARE statement. */
  readonly text: string;
  readonly facts: TextFacts | undefined;
  readonly verdict?: Verdict | undefined;
  /** Unit of the Parse: a Bind in the same unit is covered by the Parse's decision; any other Bind is decided again. */
  readonly unit: number;
  /** `sql`: created by SQL PREPARE (every protocol use of it is decided again). */
  readonly origin: 'parse' | 'sql';
  /** Facts the pipeline imposed at Parse (the text could not be decided under the lexer state then): reused later. */
  readonly forcedFacts?: TextFacts | undefined;
}

export interface Portal {
  readonly name: string;
  readonly statement: PreparedStatement;
  /** Facts and verdict of the decision that allowed this portal to run (its Parse's, or its Bind's own). */
  readonly facts: TextFacts | undefined;
  readonly verdict?: Verdict | undefined;
}

/** The record a name resolves to, or why there is none yet: `missing` (refuse) or `wait` (the server has not answered). */
export type Resolution<T> = T | typeof MISSING | typeof WAIT;

export const MISSING = 'missing';
export const WAIT = 'wait';

/** How a reply still in flight may change one name: creates it (with the value), drops it, or changes it unknowably. */
type PendingChange<T> = { readonly kind: 'creates'; readonly value: T } | { readonly kind: 'drops' } | { readonly kind: 'unknown' } | null;

export class Namespace implements ReplyListener {
  private readonly statements = new Map<string, PreparedStatement>();
  private readonly portals = new Map<string, Portal>();

  /** Resolves a statement name for a Bind in `unit`, against the confirmed names and the replies still in flight. */
  resolveStatement(name: string, unit: number, inFlight: Pick<ReplyQueue, 'newest'>): Resolution<PreparedStatement> {
    for (let k = 0, e = inFlight.newest(0); e !== undefined; e = inFlight.newest(++k)) {
      const change = statementChange(e, name, unit);
      if (change === null) continue;
      if (e.unit !== unit) return WAIT;
      return change.kind === 'creates' ? change.value : MISSING;
    }
    return this.statements.get(name) ?? MISSING;
  }

  /** Resolves a portal name for an Execute in `unit`. */
  resolvePortal(name: string, unit: number, inFlight: Pick<ReplyQueue, 'newest'>): Resolution<Portal> {
    for (let k = 0, e = inFlight.newest(0); e !== undefined; e = inFlight.newest(++k)) {
      const change = portalChange(e, name);
      if (change === null) continue;
      if (e.unit !== unit) return WAIT;
      return change.kind === 'creates' ? change.value : MISSING;
    }
    return this.portals.get(name) ?? MISSING;
  }

  /** Confirmed prepared statement names (tests and diagnostics). */
  statementNames(): string[] {
    return [...this.statements.keys()];
  }

  portalNames(): string[] {
    return [...this.portals.keys()];
  }

  // ── ReplyListener: what the server confirmed ──────────────────────────────────────────────────────────

  confirmed(e: ExpectedReply): void {
    switch (e.kind) {
      case ReplyKind.parse:
        this.statements.set(e.statement!.name, e.statement!);
        break;
      case ReplyKind.bind:
        this.portals.set(e.portal!.name, e.portal!);
        break;
      case ReplyKind.close:
        if (e.target!.kind === 'S') this.statements.delete(e.target!.name);
        else this.portals.delete(e.target!.name);
        break;
      case ReplyKind.execute:
        if (e.effects?.unknown) this.forgetAll();
        else this.apply(e.effects?.statements[0] ?? null, e.unit);
        break;
      default:
        break;
    }
  }

  statementCompleted(e: ExpectedReply, index: number): void {
    this.apply(e.effects?.statements[index] ?? null, e.unit);
  }

  failed(e: ExpectedReply, processed: boolean): void {
    if (!processed) return;
    // The server drops the unnamed statement before parsing a new one, and the unnamed portal before binding a new
    // one, so a rejected Parse/Bind of the unnamed one leaves nothing behind.
    if (e.kind === ReplyKind.parse && e.statement!.name === '') this.statements.delete('');
    if (e.kind === ReplyKind.bind && e.portal!.name === '') this.portals.delete('');
  }

  ready(e: ExpectedReply, status: TxStatus): void {
    if (e.kind === ReplyKind.query) {
      // exec_simple_query drops the unnamed statement first and runs each statement in the unnamed portal.
      this.statements.delete('');
      this.portals.delete('');
      // A text pgwarden could not read may have prepared or deallocated anything: forget every name (fail closed).
      if (e.effects?.unknown && e.completed > 0) this.forgetAll();
    }
    // Protocol portals live until their transaction ends (none is WITH HOLD); outside a block, it just did.
    if (status === 'I') this.portals.clear();
  }

  private forgetAll(): void {
    this.statements.clear();
    this.portals.clear();
  }

  private apply(effect: StatementEffect | null, unit: number): void {
    if (!effect) return;
    if (effect.deallocates === ALL) this.statements.clear();
    else if (effect.deallocates !== undefined) this.statements.delete(effect.deallocates);
    if (effect.prepares) {
      const p = effect.prepares;
      this.statements.set(p.name, { name: p.name, text: p.text, facts: p.facts, unit, origin: 'sql' });
    }
    if (effect.portals) this.portals.clear();
  }
}

function statementChange(e: ExpectedReply, name: string, unit: number): PendingChange<PreparedStatement> {
  switch (e.kind) {
    case ReplyKind.parse:
      return e.statement!.name === name ? { kind: 'creates', value: e.statement! } : null;
    case ReplyKind.close:
      return e.target!.kind === 'S' && e.target!.name === name ? { kind: 'drops' } : null;
    case ReplyKind.query:
      if (name === '') return { kind: 'drops' };
      return affectsName(e, name) ? { kind: 'unknown' } : null;
    case ReplyKind.execute: {
      if (!affectsName(e, name)) return null;
      const effect = e.effects!.statements[0];
      if (effect?.prepares?.name === name) {
        const p = effect.prepares;
        return { kind: 'creates', value: { name, text: p.text, facts: p.facts, unit, origin: 'sql' } };
      }
      return effect?.deallocates !== undefined ? { kind: 'drops' } : { kind: 'unknown' };
    }
    default:
      return null;
  }
}

function affectsName(e: ExpectedReply, name: string): boolean {
  const names = e.effects?.names;
  return names !== undefined && (names === ALL || names.has(name));
}

function portalChange(e: ExpectedReply, name: string): PendingChange<Portal> {
  switch (e.kind) {
    case ReplyKind.bind:
      return e.portal!.name === name ? { kind: 'creates', value: e.portal! } : null;
    case ReplyKind.close:
      return e.target!.kind === 'P' && e.target!.name === name ? { kind: 'drops' } : null;
    case ReplyKind.query:
    case ReplyKind.sync:
    case ReplyKind.functionCall:
      // Each may end the transaction that holds the portal.
      return { kind: 'unknown' };
    case ReplyKind.execute:
      return e.effects?.portals ? { kind: 'unknown' } : null;
    default:
      return null;
  }
}
