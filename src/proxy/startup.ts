// The startup phase: SSLRequest/GSSENCRequest, CancelRequest and StartupMessage (length-prefixed, no type byte).
// @see https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-START-UP
import { ProtocolError } from '../errors.js';
import { StartupCode } from './codes.js';

export type StartupPacket =
  | { readonly type: 'ssl' }
  | { readonly type: 'gssenc' }
  | { readonly type: 'cancel'; readonly pid: number; readonly secret: number }
  | { readonly type: 'startup'; readonly major: number; readonly minor: number; readonly params: ReadonlyMap<string, string> };

/** Reads one startup-phase packet from `buf`. Returns the packet and its length, or null when incomplete. */
export function readStartupPacket(buf: Buffer, maxLength: number): { packet: StartupPacket; length: number } | null {
  if (buf.length < 8) return null;
  const len = buf.readInt32BE(0);
  if (len < 8 || len > maxLength) throw ProtocolError.malformed(`startup packet length ${len} is outside 8..${maxLength}`);
  if (buf.length < len) return null;
  const code = buf.readInt32BE(4);
  if (code === StartupCode.SSLRequest) return { packet: { type: 'ssl' }, length: len };
  if (code === StartupCode.GSSENCRequest) return { packet: { type: 'gssenc' }, length: len };
  if (code === StartupCode.CancelRequest) {
    if (len !== 16) throw ProtocolError.malformed('CancelRequest must be 16 bytes');
    return { packet: { type: 'cancel', pid: buf.readInt32BE(8), secret: buf.readInt32BE(12) }, length: len };
  }
  const major = code >>> 16;
  const minor = code & 0xffff;
  if (major !== 3) throw new ProtocolError('PGW_PROTO_UNSUPPORTED', `unsupported frontend protocol ${major}.${minor}: pgwarden supports 3.0`);
  const params = new Map<string, string>();
  let i = 8;
  while (i < len - 1) {
    const keyEnd = buf.indexOf(0, i);
    if (keyEnd < 0 || keyEnd >= len) throw ProtocolError.malformed('StartupMessage: unterminated parameter name');
    const valEnd = buf.indexOf(0, keyEnd + 1);
    if (valEnd < 0 || valEnd >= len) throw ProtocolError.malformed('StartupMessage: unterminated parameter value');
    params.set(buf.toString('utf8', i, keyEnd), buf.toString('utf8', keyEnd + 1, valEnd));
    i = valEnd + 1;
  }
  if (buf[len - 1] !== 0) throw ProtocolError.malformed('StartupMessage: missing final terminator');
  if (!params.has('user')) throw ProtocolError.malformed('StartupMessage: no "user" parameter');
  return { packet: { type: 'startup', major, minor, params }, length: len };
}

/** StartupMessage (F) for protocol 3.0 with the given parameters, in order. */
export function encodeStartup(params: ReadonlyMap<string, string>): Buffer {
  const parts: Buffer[] = [Buffer.alloc(8)];
  for (const [k, v] of params) parts.push(Buffer.from(`${k}\0${v}\0`, 'utf8'));
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  out.writeInt32BE(out.length, 0);
  out.writeInt32BE(StartupCode.Protocol3, 4);
  return out;
}

/** CancelRequest (F) for an upstream backend. */
export function encodeCancel(pid: number, secret: number): Buffer {
  const out = Buffer.allocUnsafe(16);
  out.writeInt32BE(16, 0);
  out.writeInt32BE(StartupCode.CancelRequest, 4);
  out.writeInt32BE(pid, 8);
  out.writeInt32BE(secret, 12);
  return out;
}

/** True when a replication connection is requested (physical "true"/"on"/"yes"/"1" or logical "database"). */
export function isReplication(params: ReadonlyMap<string, string>): boolean {
  const v = params.get('replication');
  return v !== undefined && !/^(false|off|no|0)$/i.test(v);
}
