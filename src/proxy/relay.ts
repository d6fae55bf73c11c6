// Upstream → client pump: peeks at message headers only, forwards chunks unchanged when nothing needs changing,
// streams large messages (DataRow, CopyData) without buffering them, and hands the few messages pgwarden must see
// whole (ReadyForQuery, ParameterStatus, BackendKeyData, Authentication, an ErrorResponse pgwarden may swap) to a
// handler. Every message's header is shown to the handler once (reply correlation, see replies.ts).
import { BackendCode } from './codes.js';

/** What the handler wants done with an inspected message. */
export type InspectResult = 'pass' | 'drop' | Buffer;

export interface RelayHandler {
  /** Called once per message, at its header (`length` counts the type byte): true to receive it whole in inspect(). */
  header(code: number, length: number): boolean;
  inspect(code: number, message: Buffer): InspectResult;
}

export class BackendRelay {
  /** The start of a message wanted whole (or of a header) that spans reads: chunks joined once complete. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** Bytes the partial message needs in total (0 while its header is incomplete). */
  private partialNeed = 0;
  private passRemaining = 0;
  private readonly queued: Buffer[] = [];

  constructor(
    private readonly handler: RelayHandler,
    private readonly write: (pieces: Buffer[]) => void,
  ) {}

  /** True between messages: pgwarden may insert its own message into the client stream now. */
  get atBoundary(): boolean {
    return this.passRemaining === 0 && this.partial.length === 0;
  }

  /** Sends `message` to the client at the next message boundary (now, if the stream is between messages). */
  inject(message: Buffer): void {
    if (this.atBoundary) this.write([message]);
    else this.queued.push(message);
  }

  push(input: Buffer): void {
    let chunk = input;
    let i = 0;
    if (this.partial.length > 0) {
      this.partial.push(input);
      this.partialBytes += input.length;
      if (this.partialNeed > 0 && this.partialBytes < this.partialNeed) return;
      chunk = Buffer.concat(this.partial);
      this.partial = [];
      this.partialBytes = 0;
      this.partialNeed = 0;
      // The message at the start of `chunk` has had its header shown already when its length was known.
      return this.scan(chunk, 0, this.pendingWhole);
    } else if (this.passRemaining > 0) {
      const n = Math.min(this.passRemaining, chunk.length);
      this.passRemaining -= n;
      i = n;
    }
    this.scan(chunk, i, false);
  }

  /** True when the partial message at the head of the next scan was already announced and wanted whole. */
  private pendingWhole = false;

  private scan(chunk: Buffer, start: number, firstAnnounced: boolean): void {
    const out: Buffer[] = [];
    let i = start;
    let runStart = 0;
    const end = chunk.length;
    let announced = firstAnnounced;
    this.pendingWhole = false;
    while (i < end) {
      if (end - i < 5) {
        if (i > runStart) out.push(chunk.subarray(runStart, i));
        this.keepPartial(chunk.subarray(i), 0);
        runStart = end;
        break;
      }
      const code = chunk[i]!;
      const total = chunk.readInt32BE(i + 1) + 1;
      const whole = announced ? true : this.handler.header(code, total);
      announced = false;
      if (whole) {
        if (end - i < total) {
          if (i > runStart) out.push(chunk.subarray(runStart, i));
          this.keepPartial(chunk.subarray(i), total);
          this.pendingWhole = true;
          runStart = end;
          break;
        }
        const result = this.handler.inspect(code, chunk.subarray(i, i + total));
        if (result !== 'pass') {
          if (i > runStart) out.push(chunk.subarray(runStart, i));
          if (result !== 'drop') out.push(result);
          runStart = i + total;
        }
        i += total;
      } else if (end - i < total) {
        this.passRemaining = total - (end - i);
        i = end;
      } else {
        i += total;
      }
    }
    if (runStart < end) out.push(runStart === 0 ? chunk : chunk.subarray(runStart, end));
    if (this.queued.length > 0 && this.atBoundary) out.push(...this.queued.splice(0));
    if (out.length > 0) this.write(out);
  }

  private keepPartial(bytes: Buffer, need: number): void {
    this.partial = [Buffer.from(bytes)];
    this.partialBytes = bytes.length;
    this.partialNeed = need;
  }
}

/** Types a session always needs whole. */
export function isAlwaysInspected(code: number): boolean {
  return code === BackendCode.ReadyForQuery || code === BackendCode.ParameterStatus || code === BackendCode.CopyBothResponse;
}
