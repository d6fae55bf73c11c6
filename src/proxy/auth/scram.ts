// SCRAM-SHA-256 building blocks shared by both sides (RFC 5802, RFC 7677): key derivation, stored verifiers in
// PostgreSQL's own format, attribute parsing and the tls-server-end-point channel binding data.
// @see https://www.postgresql.org/docs/current/sasl-authentication.html
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import { saslPrep } from './saslprep.js';

export const SCRAM_MECHANISM = 'SCRAM-SHA-256';
export const SCRAM_PLUS_MECHANISM = 'SCRAM-SHA-256-PLUS';
/** PostgreSQL's default scram_iterations. */
export const DEFAULT_ITERATIONS = 4096;
const KEY_LENGTH = 32;

/** What pgwarden stores for an identity: never the password, only the salted keys (as PostgreSQL's pg_authid does). */
export interface ScramVerifier {
  readonly iterations: number;
  readonly salt: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

export function hmac(key: Buffer, data: string | Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

export function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

export function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** Constant-time equality of two buffers of possibly different lengths. */
export function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Hi(Normalize(password), salt, i): PBKDF2-HMAC-SHA-256. The password goes through SASLprep as libpq and PostgreSQL do. */
export function saltedPassword(password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(Buffer.from(saslPrep(password), 'utf8'), salt, iterations, KEY_LENGTH, 'sha256', (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** ClientKey and ServerKey from a salted password. */
export function keysFrom(salted: Buffer): { clientKey: Buffer; serverKey: Buffer } {
  return { clientKey: hmac(salted, 'Client Key'), serverKey: hmac(salted, 'Server Key') };
}

/** A new verifier for `password` with a random 16-byte salt (PostgreSQL's size). */
export async function makeVerifier(password: string, iterations = DEFAULT_ITERATIONS, salt: Buffer = randomBytes(16)): Promise<ScramVerifier> {
  const { clientKey, serverKey } = keysFrom(await saltedPassword(password, salt, iterations));
  return { iterations, salt, storedKey: sha256(clientKey), serverKey };
}

const VERIFIER = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2}):([A-Za-z0-9+/]+={0,2})$/;

/** `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64 parts), as in pg_authid.rolpassword. Null when malformed. */
export function parseVerifier(text: string): ScramVerifier | null {
  const m = VERIFIER.exec(text.trim());
  if (!m) return null;
  const iterations = Number(m[1]);
  const salt = Buffer.from(m[2]!, 'base64');
  const storedKey = Buffer.from(m[3]!, 'base64');
  const serverKey = Buffer.from(m[4]!, 'base64');
  if (!Number.isSafeInteger(iterations) || iterations < 1 || salt.length === 0 || storedKey.length !== KEY_LENGTH || serverKey.length !== KEY_LENGTH) return null;
  return { iterations, salt, storedKey, serverKey };
}

export function formatVerifier(v: ScramVerifier): string {
  return `SCRAM-SHA-256$${v.iterations}:${v.salt.toString('base64')}$${v.storedKey.toString('base64')}:${v.serverKey.toString('base64')}`;
}

/**
 * A verifier no password matches, with a salt derived from the name so that asking twice gives the same salt: an
 * unknown name then looks exactly like a known one to the client (PostgreSQL's mock authentication does the same).
 */
export function mockVerifier(name: string, secret: Buffer): ScramVerifier {
  const salt = hmac(secret, `salt:${name}`).subarray(0, 16);
  return { iterations: DEFAULT_ITERATIONS, salt, storedKey: randomBytes(KEY_LENGTH), serverKey: randomBytes(KEY_LENGTH) };
}

/** `a=1,b=2` → Map. Values may contain '='; a part without '=' or an empty key makes the whole text invalid (null). */
export function parseAttributes(text: string): Array<[string, string]> | null {
  const out: Array<[string, string]> = [];
  for (const part of text.split(',')) {
    if (part.length < 2 || part[1] !== '=' || !/^[A-Za-z]$/.test(part[0]!)) return null;
    out.push([part[0]!, part.slice(2)]);
  }
  return out;
}

/** A printable nonce without ',' (RFC 5802 `printable`): base64 of random bytes. PostgreSQL uses 18 raw bytes. */
export function makeNonce(): string {
  return randomBytes(18).toString('base64');
}

export function isPrintableNonce(nonce: string): boolean {
  return nonce.length > 0 && /^[\x21-\x2b\x2d-\x7e]+$/.test(nonce);
}

/**
 * tls-server-end-point channel binding data (RFC 5929): the hash of the server's DER certificate, with the hash of the
 * certificate's signature algorithm — SHA-256 when that is MD5 or SHA-1 — as PostgreSQL computes it.
 */
export function serverEndPointHash(certificateDer: Buffer): Buffer {
  const oid = certificateSignatureOid(certificateDer);
  const algorithm = SIGNATURE_HASH[oid ?? ''] ?? 'sha256';
  return createHash(algorithm).update(certificateDer).digest();
}

/** Signature algorithm OIDs → the hash they use (only those that are not SHA-256 need listing). */
const SIGNATURE_HASH: Record<string, string> = {
  '1.2.840.113549.1.1.12': 'sha384', // sha384WithRSAEncryption
  '1.2.840.113549.1.1.13': 'sha512', // sha512WithRSAEncryption
  '1.2.840.10045.4.3.3': 'sha384', // ecdsa-with-SHA384
  '1.2.840.10045.4.3.4': 'sha512', // ecdsa-with-SHA512
};

function certificateSignatureOid(der: Buffer): string | null {
  try {
    return (new X509Certificate(der) as X509Certificate & { signatureAlgorithmOid?: string }).signatureAlgorithmOid ?? null;
  } catch {
    return null;
  }
}
