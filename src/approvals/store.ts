// PendingStore: where approval requests live. memory-store.ts (single instance) and redis-store.ts (shared) have identical semantics.
import type { Category } from '../sql/types.js';
import type { ApprovalScope } from '../policy/verdict.js';
import type { ApprovalRequest, ApprovalStatus } from './request.js';

export interface DecideInput {
  readonly id: string;
  /** Approver identity (from the API token, the console session, or the Teams user mapping). */
  readonly by: string;
  readonly decision: 'approve' | 'deny';
  readonly reason: string;
  readonly scope?: ApprovalScope;
  /** Channel: api, console, cli, teams, slack, webhook. */
  readonly via?: string;
  /**
   * Repeating a decision with the same key returns the first result instead of 409. Keys belong to one approver on one
   * request: another approver's key is simply unused, and the same key with a different decision, reason or scope is
   * refused (`idempotency_mismatch`).
   */
  readonly idempotencyKey?: string;
}

export type DecideError =
  | 'not_found'
  | 'self_approval'
  | 'not_approver'
  | 'already_decided'
  | 'duplicate_vote'
  /** The same approver reused an idempotency key with a different decision, reason or scope. */
  | 'idempotency_mismatch'
  /** The pgwarden instance holding the client is gone: the request is (now) withdrawn with reason instance_lost. */
  | 'instance_lost';

export type DecideResult =
  | {
      readonly ok: true;
      readonly request: ApprovalRequest;
      /** true when this vote settled the request */
      readonly settled: boolean;
      /** true when this call repeated an earlier idempotency key: nothing new was recorded. */
      readonly replayed?: boolean;
    }
  | {
      readonly ok: false;
      readonly error: DecideError;
      readonly request: ApprovalRequest | null;
      /** true when checking this decision moved the request to a final state (its holder was found gone): the caller records that outcome. */
      readonly finalized?: boolean;
    };

export interface StoreEvent {
  readonly type: 'created' | 'updated';
  readonly request: ApprovalRequest;
}

export interface Grant {
  readonly id: string;
  readonly requestId: string;
  readonly fingerprint: string;
  /** Actor key: user|application (address excluded: agents move). */
  readonly actorKey: string;
  readonly database: string;
  readonly approvedBy: readonly string[];
  readonly expiresAt: string;
  /**
   * The rule that sent the approved statement to review and its categories: a grant covers only statements that would
   * get the same verdict (same rule, same categories), checked on every use. Grants stored without them never match.
   */
  readonly rule?: string | null;
  readonly categories?: readonly Category[];
}

export interface PendingStore {
  create(request: ApprovalRequest): Promise<void>;
  get(id: string): Promise<ApprovalRequest | null>;
  list(filter?: { status?: ApprovalStatus; limit?: number }): Promise<ApprovalRequest[]>;
  /** Atomic: first valid decision wins, no self-approval, only listed approvers, quorum of distinct approvers. */
  decide(input: DecideInput): Promise<DecideResult>;
  /** Marks a still-pending request expired / withdrawn; returns the record after the change (or as it was if already final). */
  expire(id: string): Promise<ApprovalRequest | null>;
  withdraw(id: string, reason: string): Promise<ApprovalRequest | null>;
  /**
   * Withdraws (reason `instance_lost`) every pending request — or those among `ids` — whose holding instance has no live
   * heartbeat. Atomic per request: of several instances sweeping at once, exactly one gets each request back, and that
   * one records the outcome. A sweep of all requests waits one instance timeout after (re)connecting, so that other
   * instances can re-announce themselves; a sweep of given ids does not. The memory store holds only this process's
   * requests and returns [].
   */
  reapLost(ids?: readonly string[]): Promise<ApprovalRequest[]>;
  /** Every create/update, from any instance sharing the store. Returns an unsubscribe function. */
  subscribe(listener: (event: StoreEvent) => void): () => void;
  putGrant(grant: Grant): Promise<void>;
  findGrant(fingerprint: string, actorKey: string, database: string): Promise<Grant | null>;
  /** Small shared key-value space for channels (e.g. Teams conversation references and sent card ids). */
  kvSet(namespace: string, key: string, value: string, ttlMs?: number): Promise<void>;
  kvGet(namespace: string, key: string): Promise<string | null>;
  kvList(namespace: string): Promise<Map<string, string>>;
  /** Reachability of the backing store (always true for memory). */
  isAvailable(): boolean;
  onAvailability(listener: (up: boolean) => void): void;
  close(): Promise<void>;
}
