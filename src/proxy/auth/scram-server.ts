// The server side of one SCRAM-SHA-256(-PLUS) exchange against a stored verifier (RFC 5802, RFC 7677; PostgreSQL's
// dialect: the user name in the SCRAM messages is ignored, the startup user counts). Pure: bytes in, bytes out.
// Every failure returns `{ ok: false, why }`; `why` is for the log only, the client always gets the same error.
import {
  isPrintableNonce,
  hmac,
  makeNonce,
  parseAttributes,
  sameBytes,
  SCRAM_MECHANISM,
  SCRAM_PLUS_MECHANISM,
  sha256,
  xor,
  type ScramVerifier,
} from './scram.js';

export type ScramStep = { readonly ok: true; readonly reply: string } | { readonly ok: false; readonly why: string };

export interface ScramServerOptions {
  readonly verifier: ScramVerifier;
  /**
   * tls-server-end-point data of the TLS connection pgwarden terminates, or null on a plaintext connection. When set,
   * SCRAM-SHA-256-PLUS is offered, and a client that says it could bind but believes the server cannot ('y') is refused:
   * something between it and pgwarden removed -PLUS from the offer (RFC 5802 §6, downgrade protection).
   */
  readonly channelBinding: Buffer | null;
  readonly nonce?: () => string;
}

/** Mechanisms to offer, strongest first. */
export function scramMechanisms(hasTls: boolean): string[] {
  return hasTls ? [SCRAM_PLUS_MECHANISM, SCRAM_MECHANISM] : [SCRAM_MECHANISM];
}

export class ScramServerExchange {
  private clientFirstBare = '';
  private serverFirst = '';
  private gs2Header = '';
  private nonce = '';
  private step: 'initial' | 'final' | 'done' = 'initial';

  constructor(private readonly options: ScramServerOptions) {}

  /** SASLInitialResponse → server-first-message. */
  initial(mechanism: string, data: Buffer): ScramStep {
    if (this.step !== 'initial') return { ok: false, why: 'SASLInitialResponse out of order' };
    this.step = 'final';
    const plus = mechanism === SCRAM_PLUS_MECHANISM;
    if (!scramMechanisms(this.options.channelBinding !== null).includes(mechanism)) return { ok: false, why: `mechanism ${JSON.stringify(mechanism.slice(0, 40))} was not offered` };
    const text = data.toString('utf8');
    // gs2-header: cbind-flag "," [authzid] ","
    const first = text.indexOf(',');
    const second = first < 0 ? -1 : text.indexOf(',', first + 1);
    if (second < 0) return { ok: false, why: 'client-first-message has no GS2 header' };
    const flag = text.slice(0, first);
    const authzid = text.slice(first + 1, second);
    if (authzid !== '') return { ok: false, why: 'authorization identities are not supported' };
    if (flag === 'p=tls-server-end-point') {
      if (!plus) return { ok: false, why: 'channel binding requested with a mechanism without -PLUS' };
    } else if (flag.startsWith('p=')) {
      return { ok: false, why: `unsupported channel binding type ${JSON.stringify(flag.slice(2, 40))}` };
    } else if (flag === 'y') {
      if (this.options.channelBinding !== null) return { ok: false, why: "client supports channel binding but believed the server does not ('y' over TLS): possible downgrade" };
    } else if (flag !== 'n') {
      return { ok: false, why: 'invalid GS2 channel binding flag' };
    }
    if (plus && !flag.startsWith('p=')) return { ok: false, why: 'SCRAM-SHA-256-PLUS chosen without channel binding' };
    this.gs2Header = text.slice(0, second + 1);
    this.clientFirstBare = text.slice(second + 1);
    const attrs = parseAttributes(this.clientFirstBare);
    if (!attrs || attrs.length < 2 || attrs[0]![0] !== 'n' || attrs[1]![0] !== 'r') return { ok: false, why: 'client-first-message-bare is malformed' };
    if (attrs.slice(2).some(([k]) => k === 'm')) return { ok: false, why: 'mandatory SCRAM extensions are not supported' };
    const clientNonce = attrs[1]![1];
    if (!isPrintableNonce(clientNonce)) return { ok: false, why: 'client nonce is not printable' };
    this.nonce = clientNonce + (this.options.nonce ?? makeNonce)();
    const v = this.options.verifier;
    this.serverFirst = `r=${this.nonce},s=${v.salt.toString('base64')},i=${v.iterations}`;
    return { ok: true, reply: this.serverFirst };
  }

  /** SASLResponse (client-final-message) → server-final-message, or failure. */
  final(data: Buffer): ScramStep {
    if (this.step !== 'final') return { ok: false, why: 'SASLResponse out of order' };
    this.step = 'done';
    const text = data.toString('utf8');
    const proofAt = text.lastIndexOf(',p=');
    if (proofAt < 0) return { ok: false, why: 'client-final-message has no proof' };
    const withoutProof = text.slice(0, proofAt);
    const attrs = parseAttributes(withoutProof);
    if (!attrs || attrs.length < 2 || attrs[0]![0] !== 'c' || attrs[1]![0] !== 'r') return { ok: false, why: 'client-final-message is malformed' };
    const expectedBinding = this.gs2Header.startsWith('p=') ? Buffer.concat([Buffer.from(this.gs2Header, 'utf8'), this.options.channelBinding ?? Buffer.alloc(0)]) : Buffer.from(this.gs2Header, 'utf8');
    if (!sameBytes(Buffer.from(attrs[0]![1], 'base64'), expectedBinding)) return { ok: false, why: 'channel binding data does not match this TLS connection' };
    if (attrs[1]![1] !== this.nonce) return { ok: false, why: 'nonce does not match' };
    const proof = Buffer.from(text.slice(proofAt + 3), 'base64');
    const v = this.options.verifier;
    if (proof.length !== v.storedKey.length) return { ok: false, why: 'proof has the wrong length' };
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientKey = xor(proof, hmac(v.storedKey, authMessage));
    if (!sameBytes(sha256(clientKey), v.storedKey)) return { ok: false, why: 'wrong password' };
    return { ok: true, reply: `v=${hmac(v.serverKey, authMessage).toString('base64')}` };
  }
}
