// Verdict, Actor and review types shared by policy (produces them), proxy and approvals (consume them).

export type Action = 'allow' | 'deny' | 'review';
/** How the requester proved who it is: relayed to the upstream (passthrough) or terminated by pgwarden. */
export const AUTH_METHODS = ['passthrough', 'scram', 'oidc', 'cert'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];
/** How a rule takes part: `enforce` decides; `shadow` is evaluated and recorded, never enforced. */
export type RuleMode = 'enforce' | 'shadow';
export type ApprovalScope = 'once' | 'fingerprint';

/** Who sent a statement. */
export interface Actor {
  /** Postgres user name (passthrough auth) or the authenticated identity. */
  readonly user: string;
  /** application_name from the startup message ('' when absent). */
  readonly application: string;
  /** Client IP address. */
  readonly address: string;
  /** The agent's human owner, where known (never may approve the agent's requests). */
  readonly owner?: string;
  /** The authenticated identity (SCRAM name, OIDC claim, client certificate); the user name in passthrough mode. */
  readonly identity?: string;
  /** Groups of the identity (config and token claims). */
  readonly groups?: readonly string[];
  /** How the identity was established. Absent = passthrough. */
  readonly auth?: AuthMethod;
}

/** Session facts a rule may match on besides the statement. */
export interface SessionInfo {
  readonly database: string;
  readonly inTransactionBlock: boolean;
  /** Evaluation time (injected for deterministic tests and time windows). */
  readonly now: Date;
}

export interface ReviewSpec {
  /** Approver identities allowed to decide (groups expanded). */
  readonly approvers: readonly string[];
  /** The group names as written in the rule, for display. */
  readonly groups: readonly string[];
  /** Distinct approvals needed. */
  readonly quorum: number;
  readonly timeoutMs: number;
  /** Scopes an approver may choose; `fingerprint` grants last `grantTtlMs`. */
  readonly scopes: readonly ApprovalScope[];
  readonly grantTtlMs: number;
}

export interface Verdict {
  readonly action: Action;
  /** Id of the rule that decided, null when defaults decided. */
  readonly rule: string | null;
  /** Why: the rule's message or a generated description ("category ddl matched rule ddl"). */
  readonly reason: string;
  /** Present when action is review. */
  readonly review?: ReviewSpec;
  /** Index of the statement (in a multi-statement text) that produced the strictest verdict. */
  readonly statementIndex: number;
  /**
   * What pgwarden would have done had shadow-mode rules (and a shadow-mode `defaults`) been enforced. Present only
   * when that differs from this verdict in action, or is a deny/review by another rule; never enforced
   * (docs/rules.md, "Shadow mode").
   */
  readonly shadow?: ShadowVerdict;
}

/**
 * A verdict pgwarden records but does not enforce. `source` says what produced it: `policy` (shadow-mode rules) today;
 * `budget` is reserved for result budgets and blast-radius holds run in shadow mode, which report through the same
 * audit field and metric (proxy/policy-gate.ts `recordShadow`).
 */
export interface ShadowVerdict {
  readonly action: Action;
  readonly rule: string | null;
  readonly reason: string;
  readonly statementIndex: number;
  readonly source: 'policy' | 'budget';
}
