// Statement handling of a ready connection: simple Query, the extended protocol up to Sync, FunctionCall.
// Finds every statement text at a point where pgwarden can still answer it itself, asks the gate, and then
// forwards, refuses (truthfully: see docs/protocol.md "How a refusal reaches the client") or holds.
import { randomBytes } from 'node:crypto';
import { ProtocolError, type PgwardenError } from '../errors.js';
import type { SqlSession, TextFacts } from '../sql/types.js';
import type { Actor } from '../policy/verdict.js';
import { FrontendCode, codeName, type TxStatus } from './codes.js';
import { readyForQuery, toErrorResponse, noticeResponse } from './backend.js';
import { decodeBindNames, decodeExecutePortal, decodeFunctionCallOid, decodeParse, decodeQuery, decodeTarget, encodeBind, encodeQuery } from './frontend.js';
import type { Frame } from './framer.js';
import type { Gate, GateHold, GateOutcome, StatementContext, StatementSource } from './gate.js';

/** What the pipeline needs from its session. */
export interface PipelineHost {
  readonly gate: Gate;
  readonly actor: Actor;
  readonly database: string;
  readonly connectionId: string;
  readonly txStatus: TxStatus;
  readonly standardConformingStrings: boolean;
  /** Forward a frontend message (a view, valid until the next socket read) to the upstream. */
  forward(bytes: Buffer): void;
  /** Send pgwarden's own message to the client at the next message boundary. */
  toClient(bytes: Buffer): void;
  /** Arm replacement of the upstream ErrorResponse that mentions `marker` with `replacement`. */
  armSubstitution(marker: string, replacement: Buffer): void;
  /** Statement processing stopped (held) or resumed: the session pauses/resumes reading accordingly. */
  onHoldChange(held: boolean): void;
  /** The client asked to terminate. */
  terminate(): void;
  /** A hold settled or a decision promise rejected unexpectedly. */
  fail(err: unknown): void;
  functionCallFacts?(oid: number): TextFacts;
}

interface PreparedRecord {
  readonly text: string;
  /** The Sync segment in which it was parsed (a later Execute re-checks it). */
  readonly segment: number;
}

export class Pipeline {
  /** Number of ReadyForQuery messages the upstream still owes (one per Query, Sync and FunctionCall forwarded). */
  pendingReplies = 0;
  private segment = 0;
  /** Any extended-protocol message forwarded since the last Sync. */
  private segmentOpen = false;
  /** After a refusal in the extended protocol: discard until Sync; 'answer' = we answer the Sync ourselves. */
  private skipToSync: 'forward' | 'answer' | null = null;
  private readonly statements = new Map<string, PreparedRecord>();
  private readonly portals = new Map<string, string>();
  private held: { hold: GateHold | null } | null = null;
  private sessionReason: string | null = null;
  private readonly sqlSession: SqlSession = { prepared: new Map() };

  constructor(private readonly host: PipelineHost) {}

  get isHeld(): boolean {
    return this.held !== null;
  }

  /** Handles one frontend message. Returns false when processing must stop (held). */
  handle(frame: Frame): boolean {
    const code = frame.code;
    const body = frame.bytes.subarray(5);
    if (this.skipToSync !== null) {
      if (code === FrontendCode.Sync) this.endSkip(frame);
      else if (code === FrontendCode.Terminate) this.host.terminate();
      return true;
    }
    switch (code) {
      case FrontendCode.Query:
        return this.decide('query', decodeQuery(body), frame, undefined, () => {
          this.pendingReplies++;
          this.host.forward(frame.bytes);
        });
      case FrontendCode.Parse: {
        const { name, text } = decodeParse(body);
        return this.decide(
          'parse',
          text,
          frame,
          undefined,
          () => {
            this.statements.set(name, { text, segment: this.segment });
            this.forwardExtended(frame.bytes);
          },
          name,
        );
      }
      case FrontendCode.Bind: {
        const { portal, statement } = decodeBindNames(body);
        this.portals.set(portal, statement);
        this.forwardExtended(frame.bytes);
        return true;
      }
      case FrontendCode.Execute: {
        const statement = this.portals.get(decodeExecutePortal(body));
        const record = statement === undefined ? undefined : this.statements.get(statement);
        // A statement parsed in this segment was decided at its Parse; one prepared earlier is decided again
        // (an approval is for one execution, rules may have changed, and time windows move).
        if (record && record.segment !== this.segment) {
          return this.decide('execute', record.text, frame, undefined, () => this.forwardExtended(frame.bytes));
        }
        this.forwardExtended(frame.bytes);
        return true;
      }
      case FrontendCode.Close: {
        const target = decodeTarget(body, 'Close');
        if (target.kind === 'S') this.statements.delete(target.name);
        else this.portals.delete(target.name);
        this.forwardExtended(frame.bytes);
        return true;
      }
      case FrontendCode.Describe:
        decodeTarget(body, 'Describe');
        this.forwardExtended(frame.bytes);
        return true;
      case FrontendCode.Sync:
        this.pendingReplies++;
        this.segment++;
        this.segmentOpen = false;
        this.host.forward(frame.bytes);
        return true;
      case FrontendCode.Flush:
      case FrontendCode.CopyData:
      case FrontendCode.CopyDone:
      case FrontendCode.CopyFail:
        this.host.forward(frame.bytes);
        return true;
      case FrontendCode.FunctionCall: {
        const oid = decodeFunctionCallOid(body);
        const facts = this.host.functionCallFacts?.(oid);
        return this.decide('function_call', `fastpath function call ${oid}`, frame, facts, () => {
          this.pendingReplies++;
          this.host.forward(frame.bytes);
        });
      }
      case FrontendCode.Terminate:
        this.host.terminate();
        return false;
      default:
        throw ProtocolError.unexpected(`message type ${codeName(code)} after startup`);
    }
  }

  /** The upstream sent ReadyForQuery. */
  onReadyForQuery(): void {
    if (this.pendingReplies > 0) this.pendingReplies--;
  }

  /** A CancelRequest for this session arrived. Returns true when pgwarden handled it (a held statement). */
  cancelHeld(): boolean {
    if (!this.held) return false;
    this.held.hold?.withdraw('client_cancel');
    return true;
  }

  /** The client went away. */
  clientGone(): void {
    this.held?.hold?.withdraw('client_disconnect');
  }

  /** Session-level `SET pgwarden.reason`. */
  setSessionReason(reason: string): void {
    this.sessionReason = reason;
  }

  private forwardExtended(bytes: Buffer): void {
    this.segmentOpen = true;
    this.host.forward(bytes);
  }

  private context(source: StatementSource, text: string, facts: TextFacts | undefined, statementName?: string): StatementContext {
    return {
      ...(statementName ? { statementName } : {}),
      source,
      text,
      facts,
      actor: this.host.actor,
      database: this.host.database,
      connectionId: this.host.connectionId,
      inTransactionBlock: this.host.txStatus !== 'I',
      standardConformingStrings: this.host.standardConformingStrings,
      sessionReason: this.sessionReason,
      sqlSession: this.sqlSession,
      setSessionReason: (r: string) => this.setSessionReason(r),
    };
  }

  /** Asks the gate about one statement; `allow` runs the forwarding. Returns false when processing must pause. */
  private decide(source: StatementSource, text: string, frame: Frame, facts: TextFacts | undefined, allow: () => void, statementName?: string): boolean {
    const outcome = this.host.gate.decide(this.context(source, text, facts, statementName));
    if (!(outcome instanceof Promise) && outcome.kind !== 'hold') {
      this.apply(outcome, frame, allow);
      return true;
    }
    // Frames are views into socket chunks, which are never reused, so the held frame stays valid while it waits.
    this.held = { hold: null };
    this.host.onHoldChange(true);
    const settle = (final: GateOutcome) => {
      if (final.kind === 'hold') return this.waitForHold(final, frame, allow);
      this.held = null;
      this.apply(final, frame, allow);
      this.host.onHoldChange(false);
    };
    if (outcome instanceof Promise) outcome.then(settle, (err) => this.host.fail(err));
    else settle(outcome);
    return false;
  }

  private waitForHold(hold: GateHold, frame: Frame, allow: () => void): void {
    this.held = { hold };
    this.host.toClient(noticeResponse(hold.notice));
    hold.onNotice((text) => {
      if (this.held?.hold === hold) this.host.toClient(noticeResponse(text));
    });
    hold.result.then(
      (final) => {
        this.held = null;
        // The approval's who and why reaches the client before the statement's own results.
        if (final.kind === 'allow' && final.notice) this.host.toClient(noticeResponse(final.notice));
        this.apply(final, frame, allow);
        this.host.onHoldChange(false);
      },
      (err) => this.host.fail(err),
    );
  }

  private apply(outcome: GateOutcome, frame: Frame, allow: () => void): void {
    if (outcome.kind === 'allow') allow();
    else if (outcome.kind === 'deny') this.refuse(outcome.error, frame.code);
  }

  /**
   * Refuses a statement so that client and server agree on what happened. When the upstream is idle, outside a
   * transaction block, pgwarden answers itself. Otherwise it sends the upstream a message that fails there (a call of
   * a function / Bind of a statement that cannot exist, named by a random marker) and swaps that ErrorResponse for its
   * own: the server then aborts the transaction block or the pipeline's implicit transaction exactly as it would for
   * any failed statement, answers later statements with 25P02, turns COMMIT into ROLLBACK, and reports the true status.
   */
  private refuse(error: PgwardenError, code: number): void {
    const extended = code === FrontendCode.Parse || code === FrontendCode.Execute;
    const idle = this.host.txStatus === 'I' && this.pendingReplies === 0 && !this.segmentOpen;
    if (idle) {
      this.host.toClient(toErrorResponse(error));
      if (extended) this.skipToSync = 'answer';
      else this.host.toClient(readyForQuery('I'));
      return;
    }
    const marker = `pgwarden_refused_${randomBytes(6).toString('hex')}`;
    this.host.armSubstitution(marker, toErrorResponse(error));
    if (extended) {
      this.segmentOpen = true;
      this.host.forward(encodeBind(marker));
      this.skipToSync = 'forward';
    } else {
      this.pendingReplies++;
      this.host.forward(encodeQuery(`SELECT pg_catalog.${marker}()`));
    }
  }

  private endSkip(sync: Frame): void {
    const mode = this.skipToSync;
    this.skipToSync = null;
    this.segment++;
    this.segmentOpen = false;
    if (mode === 'answer') {
      this.host.toClient(readyForQuery(this.host.txStatus));
    } else {
      this.pendingReplies++;
      this.host.forward(sync.bytes);
    }
  }
}
