// The decision modal (views.open): a reason box (required for a deny), the scope choice when the rule allows it, and reading a submitted modal back.
import type { ApprovalScope } from '../../../policy/verdict.js';
import { formatDuration } from '../../../units.js';
import type { ApprovalRequest } from '../../request.js';
import { context, SlackLimit, type Block, type RadioOption } from './blocks.js';
import { escapeMrkdwn, mrkdwn, plain, slackDate, type PlainText } from './mrkdwn.js';
import { codeSections } from './statement.js';

export const MODAL_CALLBACK_ID = 'pgwarden_decision';
export const REASON_BLOCK = 'reason';
export const SCOPE_BLOCK = 'scope';
/** Same cap as the Teams card's reason box and the API's reason. */
export const REASON_MAX = 1000;

/** What the modal carries from the click to its submission (private_metadata: set by us, returned by Slack, never shown). */
export interface ModalMetadata {
  readonly requestId: string;
  readonly decision: 'approve' | 'deny';
  /** Where the clicked message is: refusals after submission go there as an ephemeral message. */
  readonly channel: string | null;
}

export interface SlackView {
  readonly type: 'modal';
  readonly callback_id: string;
  readonly title: PlainText;
  readonly submit: PlainText;
  readonly close: PlainText;
  readonly private_metadata: string;
  readonly blocks: Block[];
}

function option(text: string, value: string): RadioOption {
  return { text: plain(text, 75), value };
}

export function decisionModal(request: ApprovalRequest, meta: ModalMetadata, redactLiterals: boolean): SlackView {
  const approve = meta.decision === 'approve';
  const statement = codeSections('*Statement*', redactLiterals ? request.normalized : request.sql, 1);
  const blocks: Block[] = [
    {
      type: 'section',
      text: mrkdwn(
        `*${escapeMrkdwn(request.categories.join(', ') || 'statement')} on ${escapeMrkdwn(cutTo(request.database, 200))}* by ${escapeMrkdwn(cutTo(request.actor.user, 200))}\n` +
          `Request \`${escapeMrkdwn(request.id)}\` · rule \`${escapeMrkdwn(cutTo(request.rule ?? 'defaults', 200))}\` · expires ${slackDate(request.expiresAt)}`,
      ),
    },
    ...statement.blocks,
    ...(statement.truncated ? [context('_Statement truncated here; the message and the console show more._')] : []),
    {
      type: 'input',
      block_id: REASON_BLOCK,
      label: plain('Reason (shown to the agent and recorded in the audit log)', SlackLimit.inputLabel),
      element: {
        type: 'plain_text_input',
        action_id: REASON_BLOCK,
        multiline: true,
        max_length: REASON_MAX,
        placeholder: plain(approve ? 'Optional: why approve?' : 'Why deny? The agent reads this and can adjust.', 150),
      },
      optional: approve,
      ...(approve ? {} : { hint: plain('Required for a denial.', 150) }),
    },
  ];
  if (approve && request.scopes.includes('fingerprint')) {
    const once = option('This statement only', 'once');
    blocks.push({
      type: 'input',
      block_id: SCOPE_BLOCK,
      label: plain('Approve for', SlackLimit.inputLabel),
      element: {
        type: 'radio_buttons',
        action_id: SCOPE_BLOCK,
        options: [once, option(`Statements of the same shape from this agent for ${formatDuration(request.grantTtlMs)}`, 'fingerprint')],
        initial_option: once,
      },
      optional: false,
    });
  }
  return {
    type: 'modal',
    callback_id: MODAL_CALLBACK_ID,
    title: plain(approve ? 'Approve request' : 'Deny request', SlackLimit.modalTitle),
    submit: plain(approve ? 'Approve' : 'Deny', SlackLimit.modalButton),
    close: plain('Cancel', SlackLimit.modalButton),
    private_metadata: JSON.stringify({ r: meta.requestId, d: meta.decision, c: meta.channel }),
    blocks,
  };
}

function cutTo(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export interface Submission {
  readonly meta: ModalMetadata;
  readonly reason: string;
  readonly scope: ApprovalScope | undefined;
}

/** Reads a submitted decision modal (view.private_metadata and view.state.values); null when it is not one of ours. */
export function readSubmission(view: unknown): Submission | null {
  const v = view as { callback_id?: unknown; private_metadata?: unknown; state?: { values?: Record<string, Record<string, { value?: unknown; selected_option?: { value?: unknown } | null }>> } } | null;
  if (!v || v.callback_id !== MODAL_CALLBACK_ID || typeof v.private_metadata !== 'string') return null;
  let raw: { r?: unknown; d?: unknown; c?: unknown };
  try {
    raw = JSON.parse(v.private_metadata) as typeof raw;
  } catch {
    return null;
  }
  if (typeof raw.r !== 'string' || (raw.d !== 'approve' && raw.d !== 'deny')) return null;
  const values = v.state?.values ?? {};
  const reasonValue = values[REASON_BLOCK]?.[REASON_BLOCK]?.value;
  const scopeValue = values[SCOPE_BLOCK]?.[SCOPE_BLOCK]?.selected_option?.value;
  return {
    meta: { requestId: raw.r, decision: raw.d, channel: typeof raw.c === 'string' ? raw.c : null },
    reason: typeof reasonValue === 'string' ? reasonValue.trim().slice(0, REASON_MAX) : '',
    scope: raw.d === 'approve' ? (scopeValue === 'fingerprint' ? 'fingerprint' : 'once') : undefined,
  };
}
