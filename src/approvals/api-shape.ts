// ApprovalRequest → the snake_case JSON shape of the DESIGN HTTP contract; used by the HTTP API and the webhook channel.
import type { ApprovalRequest } from './request.js';
import { wholeText } from './stored-text.js';

export interface ApiDecision {
  by: string;
  decision: 'approve' | 'deny';
  reason: string;
  at: string;
  scope: string | null;
  via: string | null;
}

export interface ApiApprovalRequest {
  id: string;
  status: ApprovalRequest['status'];
  sql: string;
  sql_truncated: boolean;
  sql_length: number;
  sql_sha256: string;
  normalized: string;
  categories: string[];
  tables: string[];
  rule: string | null;
  rule_reason: string;
  actor: { user: string; application: string; address: string; owner: string | null; identity: string; groups: string[]; auth: string };
  database: string;
  stated_reason: string | null;
  approvers: string[];
  groups: string[];
  quorum: number;
  scopes: string[];
  grant_ttl_seconds: number;
  created_at: string;
  expires_at: string;
  decided_at: string | null;
  decisions: ApiDecision[];
  withdrawn_reason: string | null;
  /** The pgwarden instance holding the client connection. */
  instance: string;
}

export function toApiJson(request: ApprovalRequest): ApiApprovalRequest {
  const whole = wholeText(request);
  return {
    id: request.id,
    status: request.status,
    sql: request.sql,
    sql_truncated: whole.truncated,
    sql_length: whole.length,
    sql_sha256: whole.sha256,
    normalized: request.normalized,
    categories: [...request.categories],
    tables: [...request.tables],
    rule: request.rule,
    rule_reason: request.ruleReason,
    actor: {
      user: request.actor.user,
      application: request.actor.application,
      address: request.actor.address,
      owner: request.actor.owner ?? null,
      identity: request.actor.identity ?? request.actor.user,
      groups: [...(request.actor.groups ?? [])],
      auth: request.actor.auth ?? 'passthrough',
    },
    database: request.database,
    stated_reason: request.statedReason,
    approvers: [...request.approvers],
    groups: [...request.groups],
    quorum: request.quorum,
    scopes: [...request.scopes],
    grant_ttl_seconds: Math.round(request.grantTtlMs / 1000),
    created_at: request.createdAt,
    expires_at: request.expiresAt,
    decided_at: request.decidedAt,
    decisions: request.decisions.map((d) => ({ by: d.by, decision: d.decision, reason: d.reason, at: d.at, scope: d.scope ?? null, via: d.via ?? null })),
    withdrawn_reason: request.withdrawnReason ?? null,
    instance: request.instance,
  };
}
