// Incremental splitter of typed protocol messages (1-byte type + Int32 length). Checks each declared length
// against the limit at the header, before buffering, so a hostile length cannot make pgwarden allocate. A message
// that spans reads is collected as a list of chunks and joined once, when its last byte has arrived: buffering is
// linear in the message size (re-joining on every read made one 64 MiB Query cost seconds of CPU).
import { ProtocolError } from '../errors.js';
import { codeName } from './codes.js';

export interface Frame {
  readonly code: number;
  /** The whole message, header included (a view into a received chunk or a joined buffer; never reused). */
  readonly bytes: Buffer;
  /** Body offset within `bytes` is always 5. */
}

export class Framer {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** Chunks received after `buf` while a message is incomplete, and how many bytes they hold. */
  private readonly more: Buffer[] = [];
  private moreBytes = 0;
  /** Bytes the incomplete message at `pos` needs in total (0 while its header is not complete yet). */
  private need = 0;

  constructor(private maxMessageSize: number) {}

  setLimit(maxMessageSize: number): void {
    this.maxMessageSize = maxMessageSize;
  }

  /** Appends received bytes. Nothing is copied until a message spanning several chunks is complete. */
  push(chunk: Buffer): void {
    if (this.pos >= this.buf.length && this.more.length === 0) {
      this.buf = chunk;
      this.pos = 0;
      return;
    }
    this.more.push(chunk);
    this.moreBytes += chunk.length;
    const avail = this.buf.length - this.pos + this.moreBytes;
    // Join only when the pending message can be complete (or its header was split), never once per read.
    if (this.need === 0 || avail >= this.need) this.join();
  }

  private join(): void {
    this.buf = Buffer.concat([this.buf.subarray(this.pos), ...this.more]);
    this.pos = 0;
    this.more.length = 0;
    this.moreBytes = 0;
  }

  /** Next complete message, or null when more bytes are needed. Throws ProtocolError for an invalid or oversized length. */
  next(): Frame | null {
    if (this.more.length > 0) return null;
    const avail = this.buf.length - this.pos;
    if (avail < 5) return null;
    const code = this.buf[this.pos]!;
    const len = this.buf.readInt32BE(this.pos + 1);
    if (len < 4) throw ProtocolError.malformed(`message ${codeName(code)} declares length ${len}`);
    if (len + 1 > this.maxMessageSize) throw ProtocolError.messageTooLarge(codeName(code), len + 1, this.maxMessageSize);
    if (avail < len + 1) {
      this.need = len + 1;
      return null;
    }
    this.need = 0;
    const bytes = this.buf.subarray(this.pos, this.pos + len + 1);
    this.pos += len + 1;
    return { code, bytes };
  }

  /** True when a complete message of type `code` is buffered (without consuming anything). Used only while held. */
  contains(code: number): boolean {
    if (this.more.length > 0) this.join();
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
    return this.buf.length - this.pos + this.moreBytes;
  }

  /** The unread bytes (for handing over to another parser). */
  takeRest(): Buffer {
    if (this.more.length > 0) this.join();
    const rest = this.buf.subarray(this.pos);
    this.buf = Buffer.alloc(0);
    this.pos = 0;
    this.need = 0;
    return rest;
  }
}
