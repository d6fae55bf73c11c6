// Passthrough authentication: what pgwarden changes in the server's authentication messages on their way to the client.
import { AuthCode, BackendCode } from './codes.js';

/**
 * AuthenticationSASL without SCRAM-SHA-256-PLUS: channel binding ties the exchange to the TLS connection the client
 * sees, which a proxy in between can never satisfy. Returns null when the message needs no change.
 */
export function withoutChannelBinding(msg: Buffer): Buffer | null {
  if (msg.readInt32BE(5) !== AuthCode.SASL) return null;
  const offered = msg.toString('utf8', 9, msg.length - 1).split('\0').filter(Boolean);
  const names = offered.filter((n) => n !== 'SCRAM-SHA-256-PLUS');
  if (names.length === offered.length) return null;
  const body = Buffer.from(names.map((n) => n + '\0').join('') + '\0', 'utf8');
  const out = Buffer.allocUnsafe(9 + body.length);
  out[0] = BackendCode.Authentication;
  out.writeInt32BE(8 + body.length, 1);
  out.writeInt32BE(AuthCode.SASL, 5);
  body.copy(out, 9);
  return out;
}

/**
 * True for a SASLInitialResponse whose GS2 flag is 'y': the client could bind to its TLS connection but was shown no
 * -PLUS. Relayed to a server that offered -PLUS, it is refused as a downgrade (RFC 5802 §6) — with a message that
 * blames the client. pgwarden refuses it first, saying what to change.
 */
export function saysClientCouldBind(frame: Buffer): boolean {
  const nul = frame.indexOf(0, 5);
  return nul > 5 && frame.length >= nul + 7 && frame[nul + 5] === 0x79 /* y */ && frame[nul + 6] === 0x2c /* , */;
}
