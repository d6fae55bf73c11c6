// The reply-correlation queue: one entry for every forwarded frontend message that the server answers, in order, so
// that every backend message can be attributed to the message (and the decision) it answers. The namespace of
// prepared statements and portals is built from these attributions (what the server confirmed), and result budgets,
// blast-radius holds and masking hook in here: see docs/protocol.md "Reply correlation".
// @see https://www.postgresql.org/docs/current/protocol-flow.html
import type { TextFacts } from '../sql/types.js';
import type { Verdict } from '../policy/verdict.js';
import { BackendCode, type TxStatus } from './codes.js';
import type { Portal, PreparedStatement } from './namespace.js';
import type { NamespaceEffects } from './session-effects.js';

export const ReplyKind = {
  query: 'query',
  parse: 'parse',
  bind: 'bind',
  describe: 'describe',
  execute: 'execute',
  close: 'close',
  sync: 'sync',
  functionCall: 'function_call',
  /** CopyDone / CopyFail: answered by nothing, but they end a COPY FROM STDIN (see onCopyIn). */
  copyEnd: 'copy_end',
} as const;
export type ReplyKind = (typeof ReplyKind)[keyof typeof ReplyKind];

/** One bit per kind, so that checking a reply against the kinds it may answer allocates nothing (it runs per DataRow). */
const BIT: Readonly<Record<ReplyKind, number>> = { query: 1, parse: 2, bind: 4, describe: 8, execute: 16, close: 32, sync: 64, function_call: 128, copy_end: 256 };
const QUERY_OR_EXECUTE = BIT.query | BIT.execute;
/** Extended-protocol messages: an error while the server processes one makes it discard everything until Sync. */
const EXTENDED = BIT.parse | BIT.bind | BIT.describe | BIT.execute | BIT.close;

export interface ExpectedReply {
  readonly kind: ReplyKind;
  /** Sync-delimited unit (a Query and a FunctionCall are units of their own): see Pipeline.unit. */
  readonly unit: number;
  /** What pgwarden decided on: the text's facts (query, parse) or, for bind/execute, the facts of the statement run. */
  readonly facts?: TextFacts | undefined;
  /** The rule verdict behind the decision, when the gate reported one (budgets read their limits from it). */
  readonly verdict?: Verdict | undefined;
  /** parse: the statement it creates. bind: the statement it binds. */
  readonly statement?: PreparedStatement;
  /** bind: the portal it creates. execute: the portal it runs. */
  readonly portal?: Portal;
  /** close / describe: what is closed or described. */
  readonly target?: { readonly kind: 'S' | 'P'; readonly name: string };
  /** query / execute: what the statements do to prepared statements and portals once they complete. */
  readonly effects?: NamespaceEffects;
  /** pgwarden's own failing message (a refusal): its ErrorResponse is replaced with this one. */
  readonly refusal?: { readonly marker: string; readonly error: Buffer };
  /** CommandComplete messages seen so far (for a Query: the index of the next statement to complete). */
  completed: number;
  /** DataRow messages and bytes (DataRow + CopyData) attributed so far: the seam for result budgets. */
  rows: number;
  bytes: number;
  /** The server answered this entry with an ErrorResponse. */
  failed: boolean;
}

/** What the namespace (and later budgets and masking) learn from the server's replies. */
export interface ReplyListener {
  /** The server confirmed the entry (ParseComplete, BindComplete, CloseComplete, CommandComplete of an Execute). */
  confirmed(entry: ExpectedReply): void;
  /** A Query's statement `index` completed (its CommandComplete arrived). */
  statementCompleted(entry: ExpectedReply, index: number): void;
  /** The server rejected the entry, or discarded it unprocessed (skipped after an error in the extended protocol). */
  failed(entry: ExpectedReply, processed: boolean): void;
  /** ReadyForQuery ended a Query, a Sync or a FunctionCall. */
  ready(entry: ExpectedReply, status: TxStatus): void;
}

export type NewReply = Omit<ExpectedReply, 'completed' | 'rows' | 'bytes' | 'failed'>;

/** Every entry has the same shape, so the per-DataRow attribution stays monomorphic. */
class Entry implements ExpectedReply {
  readonly kind: ReplyKind;
  readonly unit: number;
  readonly facts: ExpectedReply['facts'];
  readonly verdict: ExpectedReply['verdict'];
  readonly statement: ExpectedReply['statement'];
  readonly portal: ExpectedReply['portal'];
  readonly target: ExpectedReply['target'];
  readonly effects: ExpectedReply['effects'];
  readonly refusal: ExpectedReply['refusal'];
  completed = 0;
  rows = 0;
  bytes = 0;
  failed = false;
  constructor(r: NewReply) {
    this.kind = r.kind;
    this.unit = r.unit;
    this.facts = r.facts;
    this.verdict = r.verdict;
    this.statement = r.statement;
    this.portal = r.portal;
    this.target = r.target;
    this.effects = r.effects;
    this.refusal = r.refusal;
  }
}

export class ReplyQueue {
  private entries: ExpectedReply[] = [];
  private head = 0;
  /** An extended-protocol error arrived before its Sync was forwarded: the server discards what follows until Sync. */
  private skippingUntilSync = false;
  /** The server is (or will be) in COPY FROM STDIN and has not yet met the message that ends it. */
  private inCopyIn = false;

  constructor(private readonly listener: ReplyListener) {}

  get size(): number {
    return this.entries.length - this.head;
  }

  /** Oldest entry still waiting for replies. */
  get first(): ExpectedReply | undefined {
    return this.entries[this.head];
  }

  /** The k-th newest entry still waiting (0 = the last one pushed): resolving names against messages in flight. */
  newest(k: number): ExpectedReply | undefined {
    const i = this.entries.length - 1 - k;
    return i >= this.head ? this.entries[i] : undefined;
  }

  /** True when an entry of a unit before `unit` still waits for replies. */
  hasUnitBefore(unit: number): boolean {
    const f = this.entries[this.head];
    return f !== undefined && f.unit < unit;
  }

  /** Records a forwarded message that the server will answer (or, for copyEnd, that ends a COPY). */
  push(reply: NewReply): void {
    if (this.inCopyIn) {
      // The server reads this message inside COPY FROM STDIN: Sync is ignored there, CopyDone/CopyFail end the copy,
      // and any other message ends it with an error (it is consumed, never answered).
      if (reply.kind !== ReplyKind.sync) this.inCopyIn = false;
      return;
    }
    if (this.skippingUntilSync) {
      if (reply.kind !== ReplyKind.sync) return;
      this.skippingUntilSync = false;
    }
    if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    this.entries.push(new Entry(reply));
  }

  /** True when the next ErrorResponse must be read whole (it may be pgwarden's own refusal to swap). */
  get errorNeedsBody(): boolean {
    return this.firstAnswered()?.refusal !== undefined;
  }

  /**
   * Attributes one backend message (after authentication) to the entry it answers. `message` is the whole message when
   * the caller took it whole, else null. Returns what to send the client in its place: 'pass', or a replacement.
   */
  onBackend(code: number, length: number, message: Buffer | null): 'pass' | Buffer {
    switch (code) {
      case BackendCode.DataRow: {
        const e = this.expect(code, QUERY_OR_EXECUTE);
        e.rows++;
        e.bytes += length;
        return 'pass';
      }
      case BackendCode.CopyData:
        this.expect(code, QUERY_OR_EXECUTE).bytes += length;
        return 'pass';
      case BackendCode.ParseComplete:
        return this.complete(this.expect(code, BIT.parse));
      case BackendCode.BindComplete:
        return this.complete(this.expect(code, BIT.bind));
      case BackendCode.CloseComplete:
        return this.complete(this.expect(code, BIT.close));
      case BackendCode.ParameterDescription:
        this.expect(code, BIT.describe);
        return 'pass';
      case BackendCode.RowDescription: {
        const e = this.expect(code, BIT.describe | BIT.query);
        if (e.kind === ReplyKind.describe) this.pop();
        return 'pass';
      }
      case BackendCode.NoData:
        this.expect(code, BIT.describe);
        this.pop();
        return 'pass';
      case BackendCode.CommandComplete: {
        const e = this.expect(code, QUERY_OR_EXECUTE);
        if (e.kind === ReplyKind.query) this.listener.statementCompleted(e, e.completed++);
        else {
          e.completed++;
          return this.complete(e);
        }
        return 'pass';
      }
      case BackendCode.EmptyQueryResponse:
      case BackendCode.PortalSuspended: {
        const e = this.expect(code, QUERY_OR_EXECUTE);
        if (e.kind === ReplyKind.execute) this.pop();
        return 'pass';
      }
      case BackendCode.CopyInResponse:
        this.onCopyIn(this.expect(code, QUERY_OR_EXECUTE));
        return 'pass';
      case BackendCode.CopyOutResponse:
      case BackendCode.CopyDone:
        this.expect(code, QUERY_OR_EXECUTE);
        return 'pass';
      case BackendCode.FunctionCallResponse:
        this.expect(code, BIT.function_call);
        return 'pass';
      case BackendCode.ErrorResponse:
        return this.onError(message);
      case BackendCode.ReadyForQuery: {
        const e = this.expect(code, BIT.query | BIT.sync | BIT.function_call);
        this.pop();
        this.listener.ready(e, String.fromCharCode(message![5]!) as TxStatus);
        return 'pass';
      }
      default:
        // NoticeResponse, NotificationResponse, ParameterStatus: asynchronous, answer nothing.
        return 'pass';
    }
  }

  private onError(message: Buffer | null): 'pass' | Buffer {
    const e = this.firstAnswered();
    if (e === undefined) return 'pass'; // a FATAL the server sends on its own (shutdown, idle timeout)
    let out: 'pass' | Buffer = 'pass';
    if (e.refusal && message && message.includes(e.refusal.marker)) out = e.refusal.error;
    e.failed = true;
    if ((BIT[e.kind] & EXTENDED) === 0) return out; // Query, Sync (commit failed), FunctionCall: ReadyForQuery follows
    this.pop();
    this.listener.failed(e, true);
    // The server now discards every message until Sync, answering none of them.
    for (let next = this.entries[this.head]; next !== undefined && next.kind !== ReplyKind.sync; next = this.entries[this.head]) {
      this.pop();
      this.listener.failed(next, false);
    }
    if (this.entries[this.head] === undefined) this.skippingUntilSync = true;
    return out;
  }

  /**
   * COPY FROM STDIN began: the server now reads CopyData until CopyDone/CopyFail, ignores Sync and Flush, and takes any
   * other message as the error that ends the copy. Entries already queued behind the COPY are settled accordingly.
   */
  private onCopyIn(copy: ExpectedReply): void {
    let i = this.head + 1;
    while (i < this.entries.length && this.entries[i]!.kind === ReplyKind.sync) this.entries.splice(i, 1);
    if (i < this.entries.length) {
      const ender = this.entries.splice(i, 1)[0]!;
      if (ender.kind !== ReplyKind.copyEnd) this.listener.failed(ender, false);
    } else {
      this.inCopyIn = true;
    }
    void copy;
  }

  private complete(e: ExpectedReply): 'pass' {
    this.pop();
    this.listener.confirmed(e);
    return 'pass';
  }

  /** First entry that expects an answer (CopyDone/CopyFail markers left behind by a finished copy are dropped). */
  private firstAnswered(): ExpectedReply | undefined {
    let e = this.entries[this.head];
    while (e !== undefined && e.kind === ReplyKind.copyEnd) {
      this.pop();
      e = this.entries[this.head];
    }
    return e;
  }

  private expect(code: number, kinds: number): ExpectedReply {
    const e = this.firstAnswered();
    if (e === undefined || (BIT[e.kind] & kinds) === 0) {
      // pgwarden's view of the conversation no longer matches the server's: nothing it knows about names can be
      // trusted, so the connection ends (fail closed).
      throw new Error(`reply tracking lost step: backend '${String.fromCharCode(code)}' while ${e ? `a reply to '${e.kind}'` : 'no reply'} was expected`);
    }
    return e;
  }

  private pop(): void {
    this.entries[this.head] = undefined as unknown as ExpectedReply;
    this.head++;
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
    }
  }
}
