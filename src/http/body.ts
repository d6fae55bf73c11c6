// Request bodies with a size limit: 413 before buffering more than the limit, 415 unless JSON, 400 naming the parse error.
import type { IncomingMessage } from 'node:http';
import { HttpError, HttpErrorCode } from './http-error.js';

/** Default limit for API bodies: a decision is a few hundred bytes. */
export const DEFAULT_BODY_LIMIT = 64 * 1024;

/** The raw body, refusing (413) a declared or streamed size above `limit` without buffering past it. */
export async function readBody(req: IncomingMessage, limit = DEFAULT_BODY_LIMIT): Promise<Buffer> {
  const tooLarge = () =>
    new HttpError(413, HttpErrorCode.payloadTooLarge, `request body exceeds the limit of ${limit} bytes`, { Connection: 'close' });
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** A JSON object body. Requires Content-Type application/json: HTML forms cannot send it, so cross-site form posts fail here too. */
export async function readJsonBody(req: IncomingMessage, limit = DEFAULT_BODY_LIMIT): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpError(415, HttpErrorCode.unsupportedMediaType, `expected Content-Type: application/json, got ${type ? `'${type}'` : 'none'}`);
  }
  const raw = await readBody(req, limit);
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    // V8 quotes the input in its message; keep only the reason so a pasted token is not echoed back.
    const reason = (err as Error).message.replace(/,\s*(?:\.\.\.)?"[\s\S]*$/, '').trim();
    throw new HttpError(400, HttpErrorCode.badRequest, `body is not valid JSON${reason ? ` (${reason})` : ''}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, HttpErrorCode.badRequest, 'body must be a JSON object, e.g. {"decision":"approve","reason":"…"}');
  }
  return value as Record<string, unknown>;
}
