// Authentication messages both ways: the Authentication* requests pgwarden sends a client (and reads from the upstream),
// and the PasswordMessage / SASLInitialResponse / SASLResponse a client sends (and pgwarden sends the upstream).
// @see https://www.postgresql.org/docs/current/protocol-message-formats.html
import { ProtocolError } from '../../errors.js';
import { AuthCode, BackendCode, FrontendCode } from '../codes.js';

function message(code: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = code;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

function authentication(subtype: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const body = Buffer.allocUnsafe(4 + payload.length);
  body.writeInt32BE(subtype, 0);
  payload.copy(body, 4);
  return message(BackendCode.Authentication, body);
}

const AUTH_OK = authentication(AuthCode.Ok);
const AUTH_CLEARTEXT = authentication(AuthCode.CleartextPassword);

/** AuthenticationOk (B). @see …#PROTOCOL-MESSAGE-FORMATS-AUTHENTICATIONOK */
export function authenticationOk(): Buffer {
  return AUTH_OK;
}

/** AuthenticationCleartextPassword (B). */
export function authenticationCleartextPassword(): Buffer {
  return AUTH_CLEARTEXT;
}

/** AuthenticationSASL (B) listing the mechanisms offered, in order of preference. */
export function authenticationSasl(mechanisms: readonly string[]): Buffer {
  return authentication(AuthCode.SASL, Buffer.from(mechanisms.map((m) => `${m}\0`).join('') + '\0', 'utf8'));
}

/** AuthenticationSASLContinue (B). */
export function authenticationSaslContinue(data: string): Buffer {
  return authentication(AuthCode.SASLContinue, Buffer.from(data, 'utf8'));
}

/** AuthenticationSASLFinal (B). */
export function authenticationSaslFinal(data: string): Buffer {
  return authentication(AuthCode.SASLFinal, Buffer.from(data, 'utf8'));
}

/** SASLInitialResponse (F) body: mechanism name and the client's first message (-1 length = none). */
export function readSaslInitialResponse(frame: Buffer): { mechanism: string; data: Buffer } {
  const body = frame.subarray(5);
  const nul = body.indexOf(0);
  if (nul <= 0 || body.length < nul + 5) throw ProtocolError.malformed('SASLInitialResponse: truncated');
  const mechanism = body.toString('utf8', 0, nul);
  const len = body.readInt32BE(nul + 1);
  const rest = body.subarray(nul + 5);
  if (len === -1) return { mechanism, data: Buffer.alloc(0) };
  if (len < 0 || len !== rest.length) throw ProtocolError.malformed('SASLInitialResponse: data length does not match the message');
  return { mechanism, data: rest };
}

/** SASLResponse (F): the whole body is the mechanism's data. */
export function readSaslResponse(frame: Buffer): Buffer {
  return frame.subarray(5);
}

/** PasswordMessage (F): a NUL-terminated string. */
export function readPasswordMessage(frame: Buffer): string {
  const body = frame.subarray(5);
  const nul = body.indexOf(0);
  if (nul !== body.length - 1) throw ProtocolError.malformed('PasswordMessage: expected one NUL-terminated string');
  return body.toString('utf8', 0, nul);
}

/** PasswordMessage (F) carrying `text` (a cleartext password or an md5 hash). */
export function passwordMessage(text: string): Buffer {
  return message(FrontendCode.Password, Buffer.from(`${text}\0`, 'utf8'));
}

/** SASLInitialResponse (F). */
export function saslInitialResponse(mechanism: string, data: Buffer): Buffer {
  const name = Buffer.from(`${mechanism}\0`, 'utf8');
  const len = Buffer.allocUnsafe(4);
  len.writeInt32BE(data.length, 0);
  return message(FrontendCode.Password, Buffer.concat([name, len, data]));
}

/** SASLResponse (F). */
export function saslResponse(data: Buffer): Buffer {
  return message(FrontendCode.Password, data);
}
