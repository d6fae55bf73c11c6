// Incremental splitter of typed protocol messages (1-byte type + Int32 length). Checks each declared length
// against the limit at the header, before buffering, so a hostile length cannot make pgwarden allocate.
import { ProtocolError } from '../errors.js';
import { codeName } from './codes.js';

export interface Frame {
  readonly code: number;
  /** The whole message, header included (a view into the framer's buffer: valid until the next push). */
  readonly bytes: Buffer;
  /** Body offset within `bytes` is always 5. */
}

export class Framer {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;

  constructor(private maxMessageSize: number) {}

  setLimit(maxMessageSize: number): void {
    this.maxMessageSize = maxMessageSize;
  }

  /** Appends received bytes. Unread bytes of the previous chunk are kept (copied only when a message spans chunks). */
  push(chunk: Buffer): void {
    if (this.pos >= this.buf.length) {
      this.buf = chunk;
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
    }
    this.pos = 0;
  }

  /** Next complete message, or null when more bytes are needed. Throws ProtocolError for an invalid or oversized length. */
  next(): Frame | null {
    const avail = this.buf.length - this.pos;
    if (avail < 5) return null;
    const code = this.buf[this.pos]!;
    const len = this.buf.readInt32BE(this.pos + 1);
    if (len < 4) throw ProtocolError.malformed(`message ${codeName(code)} declares length ${len}`);
    if (len + 1 > this.maxMessageSize) throw ProtocolError.messageTooLarge(codeName(code), len + 1, this.maxMessageSize);
    if (avail < len + 1) return null;
    const bytes = this.buf.subarray(this.pos, this.pos + len + 1);
    this.pos += len + 1;
    return { code, bytes };
  }

  /** True when a complete message of type `code` is buffered (without consuming anything). Used only while held. */
  contains(code: number): boolean {
    for (let i = this.pos; i + 5 <= this.buf.length; ) {
      const len = this.buf.readInt32BE(i + 1);
      if (len < 4 || i + len + 1 > this.buf.length) return false;
      if (this.buf[i] === code) return true;
      i += len + 1;
    }
    return false;
  }

  /** Bytes received and not yet returned as a message. */
  get pending(): number {
    return this.buf.length - this.pos;
  }

  /** The unread bytes (for handing over to another parser). */
  takeRest(): Buffer {
    const rest = this.buf.subarray(this.pos);
    this.buf = Buffer.alloc(0);
    this.pos = 0;
    return rest;
  }
}
