// AuditEvent: what every module reports to the audit log. The writer adds time, sequence and hash-chain fields.
import type { Category } from '../sql/types.js';
import type { Actor } from '../policy/verdict.js';

export type AuditEventType =
  | 'statement_allowed'
  | 'statement_read'
  | 'statement_denied'
  | 'review_requested'
  | 'vote'
  | 'approved'
  | 'denied'
  | 'expired'
  | 'withdrawn'
  | 'grant_used'
  | 'row_budget_exceeded';

export interface AuditEvent {
  readonly event: AuditEventType;
  readonly actor?: Actor;
  readonly database?: string;
  /** Statement text, or its normalized form when audit redaction is on (the writer decides). */
  readonly sql?: string;
  readonly normalized?: string;
  readonly categories?: readonly Category[];
  readonly rule?: string | null;
  readonly request_id?: string;
  readonly grant_id?: string;
  readonly approvers?: readonly string[];
  /** Who voted or decided. */
  readonly by?: string;
  readonly decision?: 'approve' | 'deny';
  readonly reason?: string;
  readonly via?: string;
  readonly connection_id?: string;
}

/** What producers call. `append` never blocks the data path; `appendDurable` resolves once the record is written (strict mode). */
export interface AuditLog {
  append(event: AuditEvent): void;
  appendDurable(event: AuditEvent): Promise<void>;
  close(): Promise<void>;
}

/** An audit log that drops everything: for `check` and unit tests that do not look at audit. */
export const nullAuditLog: AuditLog = {
  append() {},
  async appendDurable() {},
  async close() {},
};
