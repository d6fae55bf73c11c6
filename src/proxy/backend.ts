// Encoders for the backend messages pgwarden itself originates, and the one path from PgwardenError to wire bytes.
// @see https://www.postgresql.org/docs/current/protocol-message-formats.html
import type { PgwardenError } from '../errors.js';
import { BackendCode, type TxStatus } from './codes.js';

function message(code: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = code;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

const READY: Record<TxStatus, Buffer> = {
  I: Buffer.from([BackendCode.ReadyForQuery, 0, 0, 0, 5, 0x49]),
  T: Buffer.from([BackendCode.ReadyForQuery, 0, 0, 0, 5, 0x54]),
  E: Buffer.from([BackendCode.ReadyForQuery, 0, 0, 0, 5, 0x45]),
};

/** ReadyForQuery (B), prebuilt. @see …#PROTOCOL-MESSAGE-FORMATS-READYFORQUERY */
export function readyForQuery(status: TxStatus): Buffer {
  return READY[status];
}

interface NoticeFields {
  severity: string;
  code: string;
  message: string;
  detail?: string | undefined;
  hint?: string | undefined;
}

function fieldsBody(f: NoticeFields): Buffer {
  const parts: Buffer[] = [];
  const add = (t: string, v: string | undefined) => {
    if (v === undefined) return;
    // A NUL inside a value would end the field early and desynchronise the client's parser.
    parts.push(Buffer.from(t + v.replace(/\0/g, '') + '\0', 'utf8'));
  };
  add('S', f.severity);
  add('V', f.severity);
  add('C', f.code);
  add('M', f.message);
  add('D', f.detail);
  add('H', f.hint);
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** ErrorResponse (B) from a PgwardenError: the only way pgwarden's own errors reach a client. @see …#PROTOCOL-MESSAGE-FORMATS-ERRORRESPONSE */
export function toErrorResponse(err: PgwardenError): Buffer {
  return message(BackendCode.ErrorResponse, fieldsBody({ severity: err.severity, code: err.sqlstate, message: err.message, detail: err.detail, hint: err.hint }));
}

/** NoticeResponse (B) with severity NOTICE (SQLSTATE 00000). @see …#PROTOCOL-MESSAGE-FORMATS-NOTICERESPONSE */
export function noticeResponse(text: string, hint?: string): Buffer {
  return message(BackendCode.NoticeResponse, fieldsBody({ severity: 'NOTICE', code: '00000', message: text, hint }));
}

/** BackendKeyData (B). @see …#PROTOCOL-MESSAGE-FORMATS-BACKENDKEYDATA */
export function backendKeyData(pid: number, secret: number): Buffer {
  const body = Buffer.allocUnsafe(8);
  body.writeInt32BE(pid, 0);
  body.writeInt32BE(secret, 4);
  return message(BackendCode.BackendKeyData, body);
}

/** NegotiateProtocolVersion (B): newest minor version we support and the options we did not recognise. */
export function negotiateProtocolVersion(minor: number, unrecognized: readonly string[]): Buffer {
  const head = Buffer.allocUnsafe(8);
  head.writeInt32BE(minor, 0);
  head.writeInt32BE(unrecognized.length, 4);
  return message(BackendCode.NegotiateProtocolVersion, Buffer.concat([head, ...unrecognized.map((o) => Buffer.from(o + '\0', 'utf8'))]));
}

/** Extracts SQLSTATE and message from an ErrorResponse/NoticeResponse body (after the 5-byte header). Used only off the hot path. */
export function readErrorFields(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const type = String.fromCharCode(body[i]!);
    const end = body.indexOf(0, i + 1);
    if (end < 0) break;
    out[type] = body.toString('utf8', i + 1, end);
    i = end + 1;
  }
  return out;
}
