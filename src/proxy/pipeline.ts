// Statement handling of a ready connection: simple Query, the extended protocol up to Sync, FunctionCall.
// Finds every statement text at a point where pgwarden can still answer it itself, reads it under the lexer state the
// server will use, asks the gate, and then forwards, refuses (truthfully: see refusal.ts) or holds. Every forwarded
// message that the server answers gets an entry in the reply queue; prepared statements and portals are resolved
// against what the server confirmed (namespace.ts).
import { ProtocolError, LexerStateUnconfirmed, StatementTooLarge, TextNotDecodable, UnknownPortal, UnknownPreparedStatement, type PgwardenError } from '../errors.js';
import { unknownFacts } from '../sql/facts.js';
import type { SqlSession, TextFacts } from '../sql/types.js';
import type { Actor } from '../policy/verdict.js';
import { FrontendCode, codeName, type TxStatus } from './codes.js';
import { noticeResponse } from './backend.js';
import { isLexerNeutral } from './client-encoding.js';
import { cstringEnd, decodeFunctionCallOid, targetKind } from './frontend.js';
import type { Frame } from './framer.js';
import type { Gate, GateHold, GateOutcome, GateReport, StatementContext, StatementSource } from './gate.js';
import type { LexerState } from './lexer-state.js';
import { MISSING, Namespace, WAIT, type Portal, type PreparedStatement } from './namespace.js';
import { Refusals } from './refusal.js';
import { ReplyKind, ReplyQueue, type NewReply } from './replies.js';
import { effectsOf } from './session-effects.js';

/** What the pipeline needs from its session. */
export interface PipelineHost {
  readonly gate: Gate;
  readonly actor: Actor;
  readonly database: string;
  readonly connectionId: string;
  /** Status of the last ReadyForQuery (current only when no reply is outstanding). */
  readonly txStatus: TxStatus;
  /** client_encoding, server_encoding and standard_conforming_strings as the server last reported them. */
  readonly lexer: LexerState;
  /** limits.max_statement_size: longer Query/Parse texts are refused before they are decoded or parsed. */
  readonly maxStatementSize: number;
  /** Forward a frontend message (a view, valid until the next socket read) to the upstream. */
  forward(bytes: Buffer): void;
  /** Send pgwarden's own message to the client at the next message boundary. */
  toClient(bytes: Buffer): void;
  /** Statement processing stopped (held, or waiting for the server) or resumed: the session pauses/resumes reading. */
  onHoldChange(held: boolean): void;
  /** The client asked to terminate. */
  terminate(): void;
  /** A hold settled or a decision promise rejected unexpectedly. */
  fail(err: unknown): void;
  functionCallFacts?(oid: number): TextFacts;
}

type Allow = (report: GateReport | null) => void;


export class Pipeline {
  readonly namespace = new Namespace();
  readonly replies = new ReplyQueue(this.namespace);
  /**
   * The unit of the next message: it advances after every Sync, Query and FunctionCall. Within one unit an error makes
   * the server skip every later extended-protocol message up to Sync, so a name still in flight resolves to what its
   * own unit asked for; across units pgwarden waits for the server's answer.
   */
  private unit = 0;
  /** A Bind or Execute of this unit was forwarded: it may have run code that changed the lexer state (SET, set_config). */
  private unitRanCode = false;
  private readonly refusals: Refusals;
  private held: { hold: GateHold | null } | null = null;
  /** A withdrawal that arrived while the held statement's request was still being opened. */
  private withdrawOnHold: 'client_cancel' | 'shutdown' | null = null;
  /** A frame that waits until the server has answered every earlier unit (lexer state or a name in flight). */
  private blocked: Frame | null = null;
  private retryScheduled = false;
  private sessionReason: string | null = null;
  private readonly sqlSession: SqlSession = { prepared: new Map() };
  private lastReport: GateReport | null = null;
  private readonly report = (r: GateReport): void => {
    this.lastReport = r;
  };
  private readonly setReason = (r: string): void => this.setSessionReason(r);

  constructor(private readonly host: PipelineHost) {
    this.refusals = new Refusals(host, this.replies, {
      unit: () => this.unit,
      nextUnit: () => this.nextUnit(),
    });
  }

  get isHeld(): boolean {
    return this.held !== null || this.blocked !== null;
  }

  /** Handles one frontend message. Returns false when processing must stop (held, or waiting for the server). */
  handle(frame: Frame): boolean {
    const code = frame.code;
    const body = frame.bytes.subarray(5);
    if (this.refusals.skipping) {
      if (code === FrontendCode.Sync) this.refusals.endSkip(frame);
      else if (code === FrontendCode.Terminate) this.host.terminate();
      return true;
    }
    switch (code) {
      case FrontendCode.Query:
      case FrontendCode.Parse:
        return this.onText(frame, body);
      case FrontendCode.Bind:
        return this.onBind(frame, body);
      case FrontendCode.Execute:
        return this.onExecute(frame, body);
      case FrontendCode.Close:
      case FrontendCode.Describe: {
        const what = code === FrontendCode.Close ? 'Close' : 'Describe';
        const kind = targetKind(body, what);
        const name = this.name(frame, body, 1, cstringEnd(body, 1, what));
        if (typeof name === 'boolean') return name;
        const target = { kind, name };
        this.forwardExtended(frame, { kind: code === FrontendCode.Close ? ReplyKind.close : ReplyKind.describe, unit: this.unit, target });
        return true;
      }
      case FrontendCode.Sync:
        this.replies.push({ kind: ReplyKind.sync, unit: this.unit });
        this.host.forward(frame.bytes);
        this.nextUnit();
        return true;
      case FrontendCode.CopyDone:
      case FrontendCode.CopyFail:
        this.replies.push({ kind: ReplyKind.copyEnd, unit: this.unit });
        this.host.forward(frame.bytes);
        return true;
      case FrontendCode.Flush:
      case FrontendCode.CopyData:
        this.host.forward(frame.bytes);
        return true;
      case FrontendCode.FunctionCall: {
        const oid = decodeFunctionCallOid(body);
        const facts = this.host.functionCallFacts?.(oid);
        return this.decide('function_call', `fastpath function call ${oid}`, frame, facts, true, (report) => {
          this.replies.push({ kind: ReplyKind.functionCall, unit: this.unit, facts: report?.facts ?? facts, verdict: report?.verdict });
          this.host.forward(frame.bytes);
          this.nextUnit();
        });
      }
      case FrontendCode.Terminate:
        this.host.terminate();
        return false;
      default:
        throw ProtocolError.unexpected(`message type ${codeName(code)} after startup`);
    }
  }

  /** Query or Parse: the text, read under the lexer state the server will use for it. */
  private onText(frame: Frame, body: Buffer): boolean {
    const isParse = frame.code === FrontendCode.Parse;
    const nameEnd = isParse ? cstringEnd(body, 0, 'Parse') : -1;
    const bytes = body.subarray(nameEnd + 1, cstringEnd(body, nameEnd + 1, isParse ? 'Parse' : 'Query'));
    if (bytes.length > this.host.maxStatementSize) return this.refuse(new StatementTooLarge(bytes.length, this.host.maxStatementSize), frame);
    const neutral = isLexerNeutral(bytes);
    if (!neutral) {
      // Its reading depends on client_encoding / standard_conforming_strings: decide it only under the state the
      // server confirmed.
      const wait = this.needConfirmedState(frame);
      if (wait !== null) return wait;
    }
    const name = isParse ? this.name(frame, body, 0, nameEnd) : '';
    if (typeof name === 'boolean') return name;
    const read = this.host.lexer.read(bytes, neutral);
    if (!read.ok) return this.refuse(new TextNotDecodable(read.reason), frame);
    const text = read.text;
    const forced = read.undecidable === null ? undefined : unknownFacts(text, read.undecidable);
    if (!isParse) {
      return this.decide('query', text, frame, forced, read.undecidable === null, (report) => {
        const facts = report?.facts ?? forced;
        this.replies.push({ kind: ReplyKind.query, unit: this.unit, facts, verdict: report?.verdict, effects: effectsOf(text, facts) });
        this.host.forward(frame.bytes);
        this.nextUnit();
      });
    }
    return this.decide(
      'parse',
      text,
      frame,
      forced,
      read.undecidable === null,
      (report) => {
        const facts = report?.facts ?? forced;
        const statement: PreparedStatement = { name, text, facts, verdict: report?.verdict, unit: this.unit, origin: 'parse', forcedFacts: forced };
        this.forwardExtended(frame, { kind: ReplyKind.parse, unit: this.unit, statement, facts });
      },
      name,
    );
  }

  /** Bind: the statement must resolve to decided facts; one from an earlier unit (or SQL PREPARE) is decided again. */
  private onBind(frame: Frame, body: Buffer): boolean {
    const portalEnd = cstringEnd(body, 0, 'Bind');
    const portalName = this.name(frame, body, 0, portalEnd);
    if (typeof portalName === 'boolean') return portalName;
    const name = this.name(frame, body, portalEnd + 1, cstringEnd(body, portalEnd + 1, 'Bind'));
    if (typeof name === 'boolean') return name;
    const statement = this.namespace.resolveStatement(name, this.unit, this.replies);
    if (statement === WAIT) return this.block(frame);
    if (statement === MISSING) return this.refuse(new UnknownPreparedStatement(name), frame);
    const bind = (facts: TextFacts | undefined, report: GateReport | null) => {
      const portal: Portal = { name: portalName, statement, facts, verdict: report?.verdict ?? statement.verdict };
      this.unitRanCode = true;
      this.forwardExtended(frame, { kind: ReplyKind.bind, unit: this.unit, statement, portal, facts });
    };
    if (statement.origin === 'parse' && statement.unit === this.unit) {
      bind(statement.facts, null);
      return true;
    }
    // An approval is for one execution, rules may have changed and time windows move: every later use is decided.
    const forced = statement.forcedFacts;
    return this.decide('execute', statement.text, frame, forced, true, (report) => bind(report?.facts ?? statement.facts, report));
  }

  /** Execute: runs a portal the server confirmed (or that this unit bound); its decision was made at Parse or Bind. */
  private onExecute(frame: Frame, body: Buffer): boolean {
    const name = this.name(frame, body, 0, cstringEnd(body, 0, 'Execute'));
    if (typeof name === 'boolean') return name;
    const portal = this.namespace.resolvePortal(name, this.unit, this.replies);
    if (portal === WAIT) return this.block(frame);
    if (portal === MISSING) return this.refuse(new UnknownPortal(name), frame);
    const statement = portal.statement;
    this.unitRanCode = true;
    this.forwardExtended(frame, {
      kind: ReplyKind.execute,
      unit: this.unit,
      portal,
      facts: portal.facts,
      verdict: portal.verdict,
      effects: effectsOf(statement.text, statement.facts),
    });
    return true;
  }

  /** The upstream answered: a frame waiting on earlier units may proceed once none is outstanding. */
  onReplyProgress(): void {
    if (this.blocked === null || this.retryScheduled || this.replies.hasUnitBefore(this.unit)) return;
    this.retryScheduled = true;
    // Not now: this runs while the relay is writing the server's replies, and a refusal must follow them.
    queueMicrotask(() => {
      this.retryScheduled = false;
      const frame = this.blocked;
      if (frame === null) return;
      this.blocked = null;
      try {
        if (this.handle(frame) && !this.isHeld) this.host.onHoldChange(false);
      } catch (err) {
        this.host.fail(err);
      }
    });
  }

  /** A CancelRequest for this session arrived. Returns true when pgwarden handled it (a held statement). */
  cancelHeld(): boolean {
    return this.withdrawHeld('client_cancel');
  }

  /**
   * Withdraws the held statement (a cancel, or shutdown); the client then gets 57014 like any refusal. A statement whose
   * request is still being opened is withdrawn as soon as it is. Returns true when a statement was held.
   */
  withdrawHeld(reason: 'client_cancel' | 'shutdown'): boolean {
    if (!this.held) return false;
    if (this.held.hold) this.held.hold.withdraw(reason);
    else this.withdrawOnHold = reason;
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

  private nextUnit(): void {
    this.unit++;
    this.unitRanCode = false;
    this.refusals.segmentOpen = false;
  }

  private forwardExtended(frame: Frame, reply: NewReply): void {
    this.refusals.segmentOpen = true;
    this.replies.push(reply);
    this.host.forward(frame.bytes);
  }

  /**
   * Null when the lexer state the server will use for the next message is confirmed; else the handle() result of
   * waiting for it (earlier units still unanswered) or of refusing (a Bind/Execute earlier in this unit may have
   * changed it, and nothing confirms it before Sync).
   */
  private needConfirmedState(frame: Frame): boolean | null {
    if (this.unitRanCode) return this.refuse(new LexerStateUnconfirmed(), frame);
    if (this.replies.hasUnitBefore(this.unit)) return this.block(frame);
    return null;
  }

  /**
   * A statement or portal name as the server reads it (converted from client_encoding), or the handle() result when it
   * must wait for or cannot have that reading. ASCII names (what drivers generate) read as themselves at once.
   */
  private name(frame: Frame, body: Buffer, start: number, end: number): string | boolean {
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (body[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return start === end ? '' : body.toString('latin1', start, end);
    const wait = this.needConfirmedState(frame);
    if (wait !== null) return wait;
    const read = this.host.lexer.readName(body.subarray(start, end));
    return read.ok ? read.text : this.refuse(new TextNotDecodable(`name: ${read.reason}`), frame);
  }

  private block(frame: Frame): false {
    this.blocked = frame;
    this.host.onHoldChange(true);
    this.onReplyProgress();
    return false;
  }

  private refuse(error: PgwardenError, frame: Frame): true {
    this.refusals.refuse(error, frame.code);
    return true;
  }

  private context(source: StatementSource, text: string, facts: TextFacts | undefined, scs: boolean, statementName?: string): StatementContext {
    return {
      ...(statementName ? { statementName } : {}),
      source,
      text,
      facts,
      actor: this.host.actor,
      database: this.host.database,
      connectionId: this.host.connectionId,
      inTransactionBlock: this.host.txStatus !== 'I',
      standardConformingStrings: scs,
      sessionReason: this.sessionReason,
      sqlSession: this.sqlSession,
      setSessionReason: this.setReason,
      report: this.report,
    };
  }

  /** Asks the gate about one statement; `allow` runs the forwarding. Returns false when processing must pause. */
  private decide(source: StatementSource, text: string, frame: Frame, facts: TextFacts | undefined, scs: boolean, allow: Allow, statementName?: string): boolean {
    this.lastReport = null;
    const outcome = this.host.gate.decide(this.context(source, text, facts, scs, statementName));
    const report = this.lastReport as GateReport | null;
    if (!(outcome instanceof Promise) && outcome.kind !== 'hold') {
      this.apply(outcome, frame, allow, report);
      return true;
    }
    // Frames are views into socket chunks, which are never reused, so the held frame stays valid while it waits.
    this.held = { hold: null };
    this.host.onHoldChange(true);
    const settle = (final: GateOutcome) => {
      if (final.kind === 'hold') return this.waitForHold(final, frame, allow, report);
      this.held = null;
      this.withdrawOnHold = null;
      this.apply(final, frame, allow, report);
      this.host.onHoldChange(false);
    };
    if (outcome instanceof Promise) outcome.then(settle, (err) => this.host.fail(err));
    else settle(outcome);
    return false;
  }

  private waitForHold(hold: GateHold, frame: Frame, allow: Allow, report: GateReport | null): void {
    this.held = { hold };
    if (this.withdrawOnHold !== null) {
      hold.withdraw(this.withdrawOnHold);
      this.withdrawOnHold = null;
    }
    this.host.toClient(noticeResponse(hold.notice));
    hold.onNotice((text) => {
      if (this.held?.hold === hold) this.host.toClient(noticeResponse(text));
    });
    hold.result.then(
      (final) => {
        this.held = null;
        // The approval's who and why reaches the client before the statement's own results.
        if (final.kind === 'allow' && final.notice) this.host.toClient(noticeResponse(final.notice));
        this.apply(final, frame, allow, report);
        this.host.onHoldChange(false);
      },
      (err) => this.host.fail(err),
    );
  }

  private apply(outcome: GateOutcome, frame: Frame, allow: Allow, report: GateReport | null): void {
    if (outcome.kind === 'allow') allow(report);
    else if (outcome.kind === 'deny') this.refusals.refuse(outcome.error, frame.code);
  }
}
