// Upstream → client pump: peeks at message headers only, forwards chunks unchanged when nothing needs changing,
// streams large messages (DataRow, CopyData) without buffering them, and hands the few messages pgwarden must see
// (ReadyForQuery, ParameterStatus, BackendKeyData, Authentication, ErrorResponse while a substitution is armed) to a handler.
import { BackendCode } from './codes.js';

/** What the handler wants done with an inspected message. */
export type InspectResult = 'pass' | 'drop' | Buffer;

export interface RelayHandler {
  /** Which message types need the whole message (everything else streams through). */
  wantsWhole(code: number): boolean;
  inspect(code: number, message: Buffer): InspectResult;
}

export class BackendRelay {
  private partial: Buffer | null = null;
  private passRemaining = 0;
  private readonly queued: Buffer[] = [];

  constructor(
    private readonly handler: RelayHandler,
    private readonly write: (pieces: Buffer[]) => void,
  ) {}

  /** True between messages: pgwarden may insert its own message into the client stream now. */
  get atBoundary(): boolean {
    return this.passRemaining === 0 && this.partial === null;
  }

  /** Sends `message` to the client at the next message boundary (now, if the stream is between messages). */
  inject(message: Buffer): void {
    if (this.atBoundary) this.write([message]);
    else this.queued.push(message);
  }

  push(input: Buffer): void {
    let chunk = input;
    let i = 0;
    if (this.partial) {
      chunk = Buffer.concat([this.partial, input]);
      this.partial = null;
    } else if (this.passRemaining > 0) {
      const n = Math.min(this.passRemaining, chunk.length);
      this.passRemaining -= n;
      i = n;
    }
    const out: Buffer[] = [];
    let runStart = 0;
    const end = chunk.length;
    while (i < end) {
      if (end - i < 5) {
        if (i > runStart) out.push(chunk.subarray(runStart, i));
        this.partial = Buffer.from(chunk.subarray(i));
        runStart = end;
        break;
      }
      const code = chunk[i]!;
      const total = chunk.readInt32BE(i + 1) + 1;
      if (this.handler.wantsWhole(code)) {
        if (end - i < total) {
          if (i > runStart) out.push(chunk.subarray(runStart, i));
          this.partial = Buffer.from(chunk.subarray(i));
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
}

/** Types a session always needs whole. */
export function isAlwaysInspected(code: number): boolean {
  return code === BackendCode.ReadyForQuery || code === BackendCode.ParameterStatus || code === BackendCode.CopyBothResponse;
}
