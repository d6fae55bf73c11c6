// Lazy decoders for the few frontend messages pgwarden inspects. Each takes the message body (after the 5-byte header).
// @see https://www.postgresql.org/docs/current/protocol-message-formats.html
import { ProtocolError } from '../errors.js';

/**
 * Index of the NUL that ends the string starting at `offset` (Query and Parse texts, statement and portal names).
 * Names and texts are converted from the session's client_encoding by the server, so pgwarden reads them the same way
 * (client-encoding.ts), never as UTF-8 by assumption: two different byte strings must stay two different names.
 */
export function cstringEnd(body: Buffer, offset: number, what: string): number {
  const end = body.indexOf(0, offset);
  if (end < 0) throw ProtocolError.malformed(`${what}: missing string terminator`);
  return end;
}

/** Close (F) and Describe (F): 'S' statement or 'P' portal; the name starts at offset 1. */
export function targetKind(body: Buffer, what: string): 'S' | 'P' {
  const kind = body[0];
  if (kind !== 0x53 && kind !== 0x50) throw ProtocolError.malformed(`${what}: target must be 'S' or 'P'`);
  return kind === 0x53 ? 'S' : 'P';
}

/** FunctionCall (F): the function OID. */
export function decodeFunctionCallOid(body: Buffer): number {
  if (body.length < 4) throw ProtocolError.malformed('FunctionCall: too short');
  return body.readUInt32BE(0);
}

/** Builds a frontend message from a type byte and body. */
export function frontendMessage(code: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = code;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

/** Query (F) carrying `text`. */
export function encodeQuery(text: string): Buffer {
  return frontendMessage(0x51, Buffer.from(text + '\0', 'utf8'));
}

/** Bind (F) of the unnamed portal to statement `statement`, no parameters, no result formats. */
export function encodeBind(statement: string): Buffer {
  const name = Buffer.from('\0' + statement + '\0', 'utf8');
  return frontendMessage(0x42, Buffer.concat([name, Buffer.from([0, 0, 0, 0, 0, 0])]));
}
