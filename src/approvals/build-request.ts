// Builds the ApprovalRequest for a held statement from its facts, verdict, actor and the agent's stated reason.
import type { ApprovalRequest } from './request.js';
import type { OpenApprovalInput } from './service-types.js';
import { cutToBytes, DEFAULT_MAX_STORED_SQL, storedText } from './stored-text.js';

export interface BuildRequestOptions {
  readonly id: string;
  readonly instance: string;
  readonly nowMs: number;
  /** Cap of the stored text and of its normalized form, in UTF-8 bytes (default 64 KiB). */
  readonly maxStoredSql?: number;
}

/**
 * The fingerprint of a whole text: one statement's own libpg-query fingerprint, or the statements' fingerprints joined
 * for a multi-statement text (a grant then covers exactly that sequence). Empty when any statement did not parse —
 * such text can never get a fingerprint grant.
 */
export function textFingerprint(input: Pick<OpenApprovalInput, 'facts'>): string {
  const prints = input.facts.statements.map((s) => s.fingerprint);
  if (prints.length === 0 || input.facts.parseError !== null || prints.some((p) => p === '')) return '';
  return prints.join(',');
}

export function buildRequest(input: OpenApprovalInput, options: BuildRequestOptions): ApprovalRequest {
  const review = input.verdict.review;
  if (!review) throw new TypeError(`approvals: open() needs a review verdict, got action "${input.verdict.action}" (rule ${input.verdict.rule ?? 'default'})`);
  const fingerprint = textFingerprint(input);
  const tables = [...new Set(input.facts.statements.flatMap((s) => s.tables))];
  const max = options.maxStoredSql ?? DEFAULT_MAX_STORED_SQL;
  const sql = storedText(input.sql, max);
  const normalized = cutToBytes(input.facts.statements.map((s) => s.normalized).filter((n) => n !== '').join('; ') || input.sql, max);
  // A grant needs a fingerprint: without one, only `once` is offered.
  const scopes = fingerprint === '' ? review.scopes.filter((s) => s !== 'fingerprint') : [...review.scopes];
  return {
    id: options.id,
    status: 'pending',
    sql: sql.text,
    sqlTruncated: sql.truncated,
    sqlLength: sql.length,
    sqlSha256: sql.sha256,
    normalized,
    fingerprint,
    categories: [...input.facts.categories],
    tables,
    rule: input.verdict.rule,
    ruleReason: input.verdict.reason,
    actor: { ...input.actor },
    database: input.database,
    statedReason: input.statedReason,
    approvers: [...review.approvers],
    groups: [...review.groups],
    quorum: Math.max(1, review.quorum),
    scopes: scopes.length > 0 ? scopes : ['once'],
    grantTtlMs: review.grantTtlMs,
    createdAt: new Date(options.nowMs).toISOString(),
    expiresAt: new Date(options.nowMs + review.timeoutMs).toISOString(),
    decidedAt: null,
    decisions: [],
    instance: options.instance,
  };
}
