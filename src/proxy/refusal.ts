// How a refused message reaches the client truthfully (docs/protocol.md "How a refusal reaches the client"): when the
// upstream is idle outside a transaction block pgwarden answers itself; otherwise it sends the server a message that
// must fail there (named by a random marker) and the reply queue swaps that ErrorResponse for pgwarden's own, so the
// server aborts the transaction block or the pipeline's implicit transaction exactly as for any failed statement.
import { randomBytes } from 'node:crypto';
import type { PgwardenError } from '../errors.js';
import { FrontendCode, type TxStatus } from './codes.js';
import { readyForQuery, toErrorResponse } from './backend.js';
import { encodeBind, encodeQuery } from './frontend.js';
import type { Frame } from './framer.js';
import type { PreparedStatement } from './namespace.js';
import { ReplyKind, type ReplyQueue } from './replies.js';

export interface RefusalHost {
  readonly txStatus: TxStatus;
  forward(bytes: Buffer): void;
  toClient(bytes: Buffer): void;
}

export interface Units {
  unit(): number;
  nextUnit(): void;
}

const EXTENDED_CODES: ReadonlySet<number> = new Set([FrontendCode.Parse, FrontendCode.Bind, FrontendCode.Execute, FrontendCode.Describe, FrontendCode.Close]);

export class Refusals {
  /** After a refusal in the extended protocol: discard until Sync; 'answer' = pgwarden answers that Sync itself. */
  private skipToSync: 'forward' | 'answer' | null = null;
  /** An extended-protocol message of the current unit was forwarded (the server has an open implicit transaction). */
  segmentOpen = false;

  constructor(
    private readonly host: RefusalHost,
    private readonly replies: ReplyQueue,
    private readonly units: Units,
  ) {}

  get skipping(): boolean {
    return this.skipToSync !== null;
  }

  refuse(error: PgwardenError, code: number): void {
    const extended = EXTENDED_CODES.has(code);
    const idle = this.host.txStatus === 'I' && this.replies.size === 0 && !this.segmentOpen;
    if (idle) {
      this.host.toClient(toErrorResponse(error));
      if (extended) this.skipToSync = 'answer';
      else {
        this.host.toClient(readyForQuery('I'));
        this.units.nextUnit();
      }
      return;
    }
    const marker = `pgwarden_refused_${randomBytes(6).toString('hex')}`;
    const refusal = { marker, error: toErrorResponse(error) };
    if (extended) {
      const statement: PreparedStatement = { name: marker, text: '', facts: undefined, unit: this.units.unit(), origin: 'parse' };
      this.segmentOpen = true;
      this.replies.push({ kind: ReplyKind.bind, unit: this.units.unit(), refusal, statement, portal: { name: '', statement, facts: undefined } });
      this.host.forward(encodeBind(marker));
      this.skipToSync = 'forward';
    } else {
      this.replies.push({ kind: ReplyKind.query, unit: this.units.unit(), refusal });
      this.host.forward(encodeQuery(`SELECT pg_catalog.${marker}()`));
      this.units.nextUnit();
    }
  }

  endSkip(sync: Frame): void {
    const mode = this.skipToSync;
    this.skipToSync = null;
    if (mode === 'answer') {
      this.host.toClient(readyForQuery(this.host.txStatus));
    } else {
      this.replies.push({ kind: ReplyKind.sync, unit: this.units.unit() });
      this.host.forward(sync.bytes);
    }
    this.units.nextUnit();
  }
}
