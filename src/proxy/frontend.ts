// Lazy decoders for the few frontend messages pgwarden inspects. Each takes the message body (after the 5-byte header).
// @see https://www.postgresql.org/docs/current/protocol-message-formats.html
import { ProtocolError } from '../errors.js';

/** Reads a NUL-terminated UTF-8 string at `offset`; returns the string and the offset after the NUL. */
export function readCString(body: Buffer, offset: number, what: string): [string, number] {
  const end = body.indexOf(0, offset);
  if (end < 0) throw ProtocolError.malformed(`${what}: missing string terminator`);
  return [body.toString('utf8', offset, end), end + 1];
}

/** Query (F): the SQL text. */
export function decodeQuery(body: Buffer): string {
  return readCString(body, 0, 'Query')[0];
}

/** Parse (F): statement name and SQL text (parameter types are not needed). */
export function decodeParse(body: Buffer): { name: string; text: string } {
  const [name, next] = readCString(body, 0, 'Parse');
  const [text] = readCString(body, next, 'Parse');
  return { name, text };
}

/** Bind (F): destination portal and source statement names (parameters are never decoded: they may be large and secret). */
export function decodeBindNames(body: Buffer): { portal: string; statement: string } {
  const [portal, next] = readCString(body, 0, 'Bind');
  const [statement] = readCString(body, next, 'Bind');
  return { portal, statement };
}

/** Execute (F): portal name. */
export function decodeExecutePortal(body: Buffer): string {
  return readCString(body, 0, 'Execute')[0];
}

/** Close (F) and Describe (F): 'S' statement or 'P' portal, and its name. */
export function decodeTarget(body: Buffer, what: string): { kind: 'S' | 'P'; name: string } {
  const kind = body[0];
  if (kind !== 0x53 && kind !== 0x50) throw ProtocolError.malformed(`${what}: target must be 'S' or 'P'`);
  return { kind: kind === 0x53 ? 'S' : 'P', name: readCString(body, 1, what)[0] };
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
