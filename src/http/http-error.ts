// HttpError and the JSON response writers: every error body is {"error":{"code":"…","message":"…"}}.
import type { ServerResponse } from 'node:http';

/** Error codes on the HTTP surface (snake_case, closed set). */
export const HttpErrorCode = {
  badRequest: 'bad_request',
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
  selfApproval: 'self_approval',
  notApprover: 'not_approver',
  notFound: 'not_found',
  methodNotAllowed: 'method_not_allowed',
  alreadyDecided: 'already_decided',
  duplicateVote: 'duplicate_vote',
  instanceLost: 'instance_lost',
  idempotencyKeyReused: 'idempotency_key_reused',
  payloadTooLarge: 'payload_too_large',
  unsupportedMediaType: 'unsupported_media_type',
  csrf: 'csrf_rejected',
  unavailable: 'unavailable',
  internal: 'internal',
} as const;
export type HttpErrorCode = (typeof HttpErrorCode)[keyof typeof HttpErrorCode];

/** Thrown by handlers; the server turns it into the status and JSON body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: HttpErrorCode,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Writes a JSON body (never cached: approval state changes every second). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, { error: { code: err.code, message: err.message } }, err.headers);
}
