// The shapes decide.lua exchanges with Node: the record it returns and publishes, and the delimited lists it searches.
import { createHash } from 'node:crypto';
import type { ApprovalDecision, ApprovalRequest } from './request.js';

/** The record as decide.lua returns and publishes it. */
interface WireRecord {
  base: ApprovalRequest;
  status: ApprovalRequest['status'];
  decisions: ApprovalDecision[] | Record<string, never>;
  decided_at: string;
  withdrawn_reason: string;
}

export type ScriptReply = [code: string, settled: string, replayed: string, record: string];

export function toRequest(json: string): ApprovalRequest {
  const wire = JSON.parse(json) as WireRecord;
  const { withdrawnReason: _ignored, ...base } = wire.base;
  return {
    ...base,
    status: wire.status,
    decisions: Array.isArray(wire.decisions) ? wire.decisions : [],
    decidedAt: wire.decided_at === '' ? null : wire.decided_at,
    ...(wire.withdrawn_reason !== '' ? { withdrawnReason: wire.withdrawn_reason } : {}),
  };
}

/** "\na\nb\n": the delimited form decide.lua searches with a plain find. */
export function delimited(items: readonly string[]): string {
  return items.length === 0 ? '' : `\n${items.join('\n')}\n`;
}

/** Short stable hash for idempotency-key and grant key names. */
export function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}
