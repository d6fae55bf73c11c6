// The client side of SCRAM-SHA-256(-PLUS) toward the upstream server, with the password pgwarden holds for an identity
// (libpq's behaviour: empty user name in the SCRAM messages, channel binding per `channel_binding`, the server's
// signature verified before AuthenticationOk is believed). Salted passwords are cached: PBKDF2 runs once per password.
import { createHash } from 'node:crypto';
import { hmac, keysFrom, makeNonce, parseAttributes, sameBytes, saltedPassword, SCRAM_MECHANISM, SCRAM_PLUS_MECHANISM, sha256, xor } from './scram.js';

export type ChannelBindingPolicy = 'disable' | 'prefer' | 'require';

/** (password digest, salt, iterations) → keys. Bounded: one entry per mapped credential in practice. */
const KEY_CACHE = new Map<string, { clientKey: Buffer; serverKey: Buffer }>();
const KEY_CACHE_MAX = 256;

async function cachedKeys(password: string, salt: Buffer, iterations: number): Promise<{ clientKey: Buffer; serverKey: Buffer }> {
  const key = `${createHash('sha256').update(password).digest('base64')}:${salt.toString('base64')}:${iterations}`;
  const hit = KEY_CACHE.get(key);
  if (hit) return hit;
  const keys = keysFrom(await saltedPassword(password, salt, iterations));
  if (KEY_CACHE.size >= KEY_CACHE_MAX) KEY_CACHE.delete(KEY_CACHE.keys().next().value!);
  KEY_CACHE.set(key, keys);
  return keys;
}

export class ScramClientError extends Error {}

export class ScramClientExchange {
  readonly mechanism: string;
  private readonly gs2Header: string;
  private readonly clientFirstBare: string;
  private readonly clientNonce = makeNonce();
  private expectedServerSignature: Buffer | null = null;
  private verified = false;

  /**
   * @param offered mechanisms from AuthenticationSASL
   * @param endPointHash tls-server-end-point data of the upstream TLS connection, null without TLS
   */
  constructor(
    private readonly password: string,
    offered: readonly string[],
    private readonly endPointHash: Buffer | null,
    policy: ChannelBindingPolicy,
  ) {
    const canBind = endPointHash !== null && policy !== 'disable';
    if (canBind && offered.includes(SCRAM_PLUS_MECHANISM)) {
      this.mechanism = SCRAM_PLUS_MECHANISM;
      this.gs2Header = 'p=tls-server-end-point,,';
    } else if (policy === 'require') {
      throw new ScramClientError(endPointHash === null ? 'channel_binding=require but the upstream connection has no TLS' : 'channel_binding=require but the upstream did not offer SCRAM-SHA-256-PLUS');
    } else if (offered.includes(SCRAM_MECHANISM)) {
      this.mechanism = SCRAM_MECHANISM;
      // 'y': we could bind but the server did not offer it (lets a server detect a downgrade), as libpq sends.
      this.gs2Header = canBind ? 'y,,' : 'n,,';
    } else {
      throw new ScramClientError(`the upstream offered no SASL mechanism pgwarden supports (${offered.join(', ')})`);
    }
    this.clientFirstBare = `n=,r=${this.clientNonce}`;
  }

  /** client-first-message, for SASLInitialResponse. */
  first(): Buffer {
    return Buffer.from(this.gs2Header + this.clientFirstBare, 'utf8');
  }

  /** server-first-message (AuthenticationSASLContinue) → client-final-message (SASLResponse). */
  async continue(serverFirstBytes: Buffer): Promise<Buffer> {
    const serverFirst = serverFirstBytes.toString('utf8');
    const attrs = parseAttributes(serverFirst);
    const get = (k: string) => attrs?.find(([key]) => key === k)?.[1];
    const nonce = get('r');
    const salt = get('s');
    const iterations = Number(get('i'));
    if (!nonce || !salt || !Number.isSafeInteger(iterations) || iterations < 1) throw new ScramClientError('malformed SCRAM server-first-message from the upstream');
    if (!nonce.startsWith(this.clientNonce) || nonce.length === this.clientNonce.length) throw new ScramClientError('the upstream SCRAM nonce does not extend ours');
    // An attacker in the middle could ask for absurd iteration counts to burn CPU: libpq has no cap, PostgreSQL allows up to 2^31-1.
    if (iterations > 10_000_000) throw new ScramClientError(`the upstream asked for ${iterations} SCRAM iterations (more than pgwarden allows)`);
    const { clientKey, serverKey } = await cachedKeys(this.password, Buffer.from(salt, 'base64'), iterations);
    const binding = this.gs2Header.startsWith('p=') ? Buffer.concat([Buffer.from(this.gs2Header, 'utf8'), this.endPointHash!]) : Buffer.from(this.gs2Header, 'utf8');
    const withoutProof = `c=${binding.toString('base64')},r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const proof = xor(clientKey, hmac(sha256(clientKey), authMessage));
    this.expectedServerSignature = hmac(serverKey, authMessage);
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  /** server-final-message (AuthenticationSASLFinal): the server proves it knew the verifier. Throws when it did not. */
  final(serverFinalBytes: Buffer): void {
    const text = serverFinalBytes.toString('utf8');
    if (text.startsWith('e=')) throw new ScramClientError(`the upstream ended SCRAM with error ${JSON.stringify(text.slice(2, 80))}`);
    if (!text.startsWith('v=') || !this.expectedServerSignature) throw new ScramClientError('malformed SCRAM server-final-message from the upstream');
    if (!sameBytes(Buffer.from(text.slice(2).split(',')[0]!, 'base64'), this.expectedServerSignature)) throw new ScramClientError('the upstream server signature is wrong (it does not know this role\'s verifier)');
    this.verified = true;
  }

  /** True once the server's signature was checked: AuthenticationOk before that is refused. */
  get isServerVerified(): boolean {
    return this.verified;
  }
}
