// The policy seam: every statement text reaches decide() at a point where the proxy can still answer it itself.
import type { PgwardenError } from '../errors.js';
import type { SqlSession, TextFacts } from '../sql/types.js';
import type { Actor, Verdict } from '../policy/verdict.js';

/**
 * Where the statement came from on the wire. `execute`: a Bind of a statement prepared in an earlier unit (decided
 * again on every use). `startup`: a setting from the StartupMessage, judged as the equivalent SET before the upstream
 * connection is opened (a review verdict cannot wait there and refuses).
 */
export type StatementSource = 'query' | 'parse' | 'execute' | 'function_call' | 'startup';

/** What the gate decided on, reported back so the proxy can attribute the server's replies to it. */
export interface GateReport {
  readonly facts: TextFacts;
  readonly verdict: Verdict;
}

export interface StatementContext {
  readonly source: StatementSource;
  /** The SQL text (for function_call: `fastpath function <oid>`). */
  readonly text: string;
  /** Pre-computed facts (function_call builds its own); the gate analyzes when absent. */
  readonly facts?: TextFacts;
  readonly actor: Actor;
  readonly database: string;
  readonly connectionId: string;
  readonly inTransactionBlock: boolean;
  /** SET pgwarden.reason value of this session, if any. */
  readonly sessionReason: string | null;
  /**
   * The session's standard_conforming_strings (reported by the server). When off, backslashes escape quotes and the
   * server may split a text differently from the parser, which always assumes on.
   */
  readonly standardConformingStrings: boolean;
  /** For a Parse: the prepared statement's name ('' = unnamed). SQL EXECUTE can run named ones too. */
  readonly statementName?: string;
  /** SQL-level PREPARE state of this session. */
  readonly sqlSession: SqlSession;
  /** Records a session-level stated reason (`SET pgwarden.reason = '…'` was allowed). */
  readonly setSessionReason?: (reason: string) => void;
  /** Called (synchronously, before decide returns) with the facts and verdict the decision rests on. */
  readonly report?: (report: GateReport) => void;
}

/** `notice`: a NoticeResponse for the client before the statement runs (an approval's who and why). */
export type GateAllow = { readonly kind: 'allow'; readonly notice?: string };
export type GateDeny = { readonly kind: 'deny'; readonly error: PgwardenError };
export interface GateHold {
  readonly kind: 'hold';
  readonly requestId: string;
  /** First NoticeResponse text for the client. */
  readonly notice: string;
  /** Progress notices while waiting. */
  onNotice(listener: (text: string) => void): void;
  /** Settles once with allow or deny; never rejects. */
  readonly result: Promise<GateAllow | GateDeny>;
  /** The client cancelled (CancelRequest) or disconnected while held. */
  withdraw(reason: 'client_cancel' | 'client_disconnect' | 'shutdown'): void;
}
export type GateOutcome = GateAllow | GateDeny | GateHold;

export interface Gate {
  /** Synchronous for allow/deny decisions (hot path); a hold carries its own promise. */
  decide(ctx: StatementContext): GateOutcome | Promise<GateOutcome>;
}

export const ALLOW: GateAllow = Object.freeze({ kind: 'allow' });

/** The gate used until policy is configured: allows everything. */
export const allowAllGate: Gate = { decide: () => ALLOW };
