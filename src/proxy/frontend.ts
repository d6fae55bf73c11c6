// Lazy decoders for the few frontend messages pgwarden inspects. Each takes the message body (after the 5-byte header).
// @see https://www.postgresql.org/docs/current/protocol-message-formats.html
import { ProtocolError } from '../errors.js';

/**
 * Reads a NUL-terminated string at `offset` as bytes (a view); returns them and the offset after the NUL. Names and
 * texts are converted from the session's client_encoding by the server, so pgwarden reads them the same way
 * (client-encoding.ts), never as UTF-8 by assumption: two different byte strings must stay two different names.
 */
export function readCBytes(body: Buffer, offset: number, what: string): [Buffer, number] {
  const end = body.indexOf(0, offset);
  if (end < 0) throw ProtocolError.malformed(`${what}: missing string terminator`);
  return [body.subarray(offset, end), end + 1];
}

/** Bind (F): destination portal and source statement names (parameters are never decoded: they may be large and secret). */
export function decodeBindNames(body: Buffer): { portal: Buffer; statement: Buffer } {
  const [portal, next] = readCBytes(body, 0, 'Bind');
  const [statement] = readCBytes(body, next, 'Bind');
  return { portal, statement };
}

/** Execute (F): portal name. */
export function decodeExecutePortal(body: Buffer): Buffer {
  return readCBytes(body, 0, 'Execute')[0];
}

/** Close (F) and Describe (F): 'S' statement or 'P' portal, and its name. */
export function decodeTarget(body: Buffer, what: string): { kind: 'S' | 'P'; name: Buffer } {
  const kind = body[0];
  if (kind !== 0x53 && kind !== 0x50) throw ProtocolError.malformed(`${what}: target must be 'S' or 'P'`);
  return { kind: kind === 0x53 ? 'S' : 'P', name: readCBytes(body, 1, what)[0] };
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
