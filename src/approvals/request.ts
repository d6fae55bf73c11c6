// ApprovalRequest: the record approvers see and the HTTP API returns (snake_case is applied at the API boundary).
import type { Category } from '../sql/types.js';
import type { Actor, ApprovalScope } from '../policy/verdict.js';

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'withdrawn';

export interface ApprovalDecision {
  readonly by: string;
  readonly decision: 'approve' | 'deny';
  readonly reason: string;
  /** ISO 8601 */
  readonly at: string;
  /** Scope chosen by an approving approver. */
  readonly scope?: ApprovalScope;
  /** Which channel carried the decision: api, console, cli, teams, slack, webhook. */
  readonly via?: string;
}

export interface ApprovalRequest {
  readonly id: string;
  readonly status: ApprovalStatus;
  /** The statement text, cut to `approvals.max_stored_sql` bytes (see stored-text.ts); the proxy runs the whole text. */
  readonly sql: string;
  /** True when `sql` was cut; `normalized` is then cut at the same limit. Absent (records from older versions): whole. */
  readonly sqlTruncated?: boolean;
  /** UTF-8 bytes of the whole statement text (absent: `sql` is the whole text). */
  readonly sqlLength?: number;
  /** SHA-256 (hex) of the whole statement text (absent: that of `sql`). */
  readonly sqlSha256?: string;
  /** Literal-free form of sql. */
  readonly normalized: string;
  readonly fingerprint: string;
  readonly categories: readonly Category[];
  readonly tables: readonly string[];
  readonly rule: string | null;
  /** Why the rule matched. */
  readonly ruleReason: string;
  readonly actor: Actor;
  readonly database: string;
  /** The agent's own stated reason (/* reason: … *\/ comment or SET pgwarden.reason). */
  readonly statedReason: string | null;
  readonly approvers: readonly string[];
  readonly groups: readonly string[];
  readonly quorum: number;
  readonly scopes: readonly ApprovalScope[];
  readonly grantTtlMs: number;
  /** ISO 8601 */
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly decidedAt: string | null;
  readonly decisions: readonly ApprovalDecision[];
  /** Why a request was withdrawn: client_cancel, client_disconnect, shutdown, instance_lost. */
  readonly withdrawnReason?: string;
  /** pgwarden instance that holds the client connection. */
  readonly instance: string;
}
