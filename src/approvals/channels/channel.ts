// ApprovalChannel: one way of telling approvers about a request (console, webhook, teams, slack).
import type { Logger } from 'pino';
import type { Metrics } from '../../metrics.js';
import type { ApprovalRequest } from '../request.js';
import type { DecideInput, DecideResult, PendingStore } from '../store.js';

export interface ApprovalChannel {
  readonly name: string;
  /** A new request was opened. Failures are reported through metrics and logs, never thrown. */
  requested(request: ApprovalRequest): Promise<void>;
  /** A request got a vote or reached a final status (approved, denied, expired, withdrawn): update what approvers see. */
  updated(request: ApprovalRequest): Promise<void>;
  close?(): Promise<void>;
}

/** What an interactive channel (Teams, Slack) is built from: it posts from the store and decides through the shared path. */
export interface InteractiveChannelDeps {
  readonly store: PendingStore;
  /** The approval service's decide: every channel decides through the same path. */
  readonly decide: (input: DecideInput) => Promise<DecideResult>;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
  /** Base URL of the console, linked from cards and messages. */
  readonly publicUrl: string;
  /** Show only normalized statements (audit.redact_literals). */
  readonly redactLiterals?: boolean | undefined;
}
