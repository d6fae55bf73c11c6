// The seam between the proxy's gate and approvals: open a request for a held statement and learn its outcome.
import type { TextFacts } from '../sql/types.js';
import type { Actor, Verdict } from '../policy/verdict.js';
import type { ApprovalRequest } from './request.js';

export interface OpenApprovalInput {
  readonly sql: string;
  readonly facts: TextFacts;
  readonly verdict: Verdict;
  readonly actor: Actor;
  readonly database: string;
  readonly statedReason: string | null;
  readonly connectionId: string;
}

export type ApprovalOutcome =
  | { readonly status: 'approved'; readonly request: ApprovalRequest }
  | { readonly status: 'denied'; readonly request: ApprovalRequest; readonly by: string; readonly reason: string }
  | { readonly status: 'expired'; readonly request: ApprovalRequest }
  | { readonly status: 'withdrawn'; readonly request: ApprovalRequest };

export interface PendingApproval {
  readonly request: ApprovalRequest;
  /** The first notice shown to the client ("pgwarden: waiting for approval of request … approve at URL; expires in 5m"). */
  readonly notice: string;
  /** Settles once: approved, denied, expired or withdrawn. Never rejects. */
  readonly outcome: Promise<ApprovalOutcome>;
  /** Called every progress interval with a short notice while still pending. */
  onProgress(listener: (notice: string) => void): void;
  /** The client cancelled or disconnected. */
  withdraw(reason: 'client_cancel' | 'client_disconnect' | 'shutdown'): void;
}

export type GrantMatch = { readonly grantId: string; readonly requestId: string; readonly approvedBy: readonly string[] };

/** Implemented by approvals/service.ts. Rejects with ApprovalsUnavailable when the store is unreachable. */
export interface ApprovalGateway {
  /** A live scoped grant (fingerprint × actor) that lets this statement pass without a new request. */
  findGrant(input: OpenApprovalInput): Promise<GrantMatch | null>;
  open(input: OpenApprovalInput): Promise<PendingApproval>;
}
