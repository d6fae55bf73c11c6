// ApprovalChannel: one way of telling approvers about a request (console, webhook, teams, slack).
import type { ApprovalRequest } from '../request.js';

export interface ApprovalChannel {
  readonly name: string;
  /** A new request was opened. Failures are reported through metrics and logs, never thrown. */
  requested(request: ApprovalRequest): Promise<void>;
  /** A request got a vote or reached a final status (approved, denied, expired, withdrawn): update what approvers see. */
  updated(request: ApprovalRequest): Promise<void>;
  close?(): Promise<void>;
}
