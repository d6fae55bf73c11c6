// The Slack message for an approval request (Block Kit): the same content as the Teams card, every field within Slack's limits, Approve / Deny while pending, the outcome once final.
import { formatDuration } from '../../../units.js';
import { approvalUrl } from '../../notice.js';
import { describeAuth, describeRequester } from '../../identity.js';
import type { ApprovalRequest } from '../../request.js';
import { button, context, fieldTable, header, SlackLimit, type Block } from './blocks.js';
import { cutWithNote, escapeMrkdwn, listWithin, slackDate } from './mrkdwn.js';
import { codeSections } from './statement.js';

/** action_id of every button on our messages. Only approve and deny are acted on; the console button is a plain link. */
export const SlackAction = {
  approve: 'pgwarden_approve',
  deny: 'pgwarden_deny',
  console: 'pgwarden_console',
} as const;
export type SlackAction = (typeof SlackAction)[keyof typeof SlackAction];

export const ACTIONS_BLOCK_ID = 'pgwarden_decision';

/** Budgets inside Slack's limits, chosen so a message stays readable: the console always has the whole text. */
export const MessageBudget = {
  statementSections: 3,
  normalizedSections: 1,
  shortValue: 300,
  reason: 1000,
  list: 600,
  decisionsShown: 6,
  fallbackText: 300,
} as const;

export interface MessageContext {
  /** Base URL of the pgwarden console, linked from the message. */
  readonly publicUrl: string;
  /** Show only the literal-free form of the statement (audit.redact_literals). */
  readonly redactLiterals: boolean;
}

export interface SlackMessage {
  /** Notification and fallback text (mrkdwn, escaped). */
  readonly text: string;
  readonly blocks: Block[];
}

/**
 * Result and write sizes, for requests that carry them: result budgets and blast-radius holds add these
 * fields to the request. Rendered when present; absent fields are simply not shown.
 */
export interface SizeFacts {
  readonly rowsSoFar?: number;
  readonly bytesSoFar?: number;
  readonly rowsAffected?: number;
  readonly lockedTables?: readonly string[];
}

const count = (n: number) => n.toLocaleString('en-US');

function humanBytes(n: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${count(n)} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

function consoleLink(ctx: MessageContext, id: string): string {
  return approvalUrl(ctx.publicUrl, id);
}

function title(request: ApprovalRequest): string {
  const what = request.categories.length > 0 ? request.categories.join(', ') : 'statement';
  return `Approval needed: ${what} on ${request.database}`;
}

const OUTCOME_ICON: Record<string, string> = { approved: '✅', denied: '⛔', expired: '⌛', withdrawn: '↩️' };

/** The outcome headline: "Approved by alice@example.com", "Denied by bob@example.com", "Expired: nobody decided in time". */
export function outcomeHeadline(request: ApprovalRequest): string {
  const approvers = request.decisions.filter((d) => d.decision === 'approve').map((d) => d.by);
  switch (request.status) {
    case 'approved':
      return `Approved by ${approvers.join(', ') || 'unknown'}`;
    case 'denied':
      return `Denied by ${request.decisions.find((d) => d.decision === 'deny')?.by ?? 'unknown'}`;
    case 'expired':
      return 'Expired: nobody decided in time';
    case 'withdrawn':
      return `Withdrawn (${request.withdrawnReason ?? 'client went away'})`;
    default:
      return title(request);
  }
}

function whoBlocks(request: ApprovalRequest): Block[] {
  const { actor } = request;
  return fieldTable([
    ['User', describeRequester(actor), MessageBudget.shortValue],
    ...(describeAuth(actor) ? ([['Authenticated by', describeAuth(actor)!, MessageBudget.shortValue]] as const) : []),
    ['Application', actor.application || '(none)', MessageBudget.shortValue],
    ['Client address', actor.address, MessageBudget.shortValue],
    ...(actor.owner ? ([['Owner', actor.owner, MessageBudget.shortValue]] as const) : []),
    ['Database', request.database, MessageBudget.shortValue],
  ]);
}

function statementBlocks(request: ApprovalRequest, ctx: MessageContext): Block[] {
  const primaryText = ctx.redactLiterals ? request.normalized : request.sql;
  const primary = codeSections(ctx.redactLiterals ? '*Statement* (literals redacted)' : '*Statement*', primaryText, MessageBudget.statementSections);
  const blocks = [...primary.blocks];
  if (primary.truncated) {
    blocks.push(
      context(
        `_Statement truncated: ${count(primary.shownChars)} of ${count(primaryText.length)} characters shown. <${escapeMrkdwn(consoleLink(ctx, request.id))}|Full text in the console>_`,
      ),
    );
  }
  if (!ctx.redactLiterals && request.normalized !== '' && request.normalized !== request.sql) {
    const normalized = codeSections('*Normalized form*', request.normalized, MessageBudget.normalizedSections);
    blocks.push(...normalized.blocks);
    if (normalized.truncated) blocks.push(context(`_Normalized form truncated: ${count(normalized.shownChars)} of ${count(request.normalized.length)} characters shown._`));
  }
  return blocks;
}

function whyBlocks(request: ApprovalRequest): Block[] {
  const sizes = request as ApprovalRequest & SizeFacts;
  const pairs: [string, string, number][] = [
    ['Rule', request.rule ?? '(defaults)', MessageBudget.shortValue],
    ['Rule reason', request.ruleReason, MessageBudget.reason],
    ['Categories', listWithin(request.categories, MessageBudget.list), MessageBudget.list],
    ['Tables', listWithin(request.tables, MessageBudget.list), MessageBudget.list],
    ["Agent's stated reason", request.statedReason ?? '(none given)', MessageBudget.reason],
  ];
  if (typeof sizes.rowsSoFar === 'number') pairs.push(['Rows read so far', count(sizes.rowsSoFar), MessageBudget.shortValue]);
  if (typeof sizes.bytesSoFar === 'number') pairs.push(['Bytes read so far', humanBytes(sizes.bytesSoFar), MessageBudget.shortValue]);
  if (typeof sizes.rowsAffected === 'number') pairs.push(['Rows affected', `${count(sizes.rowsAffected)} (executed, not yet committed)`, MessageBudget.shortValue]);
  if (Array.isArray(sizes.lockedTables) && sizes.lockedTables.length > 0) pairs.push(['Tables locked while waiting', listWithin(sizes.lockedTables, MessageBudget.list), MessageBudget.list]);
  return fieldTable(pairs);
}

function approvalsBlocks(request: ApprovalRequest): Block[] {
  const approvers = request.groups.length > 0 ? request.groups : request.approvers;
  const given = request.decisions.filter((d) => d.decision === 'approve').map((d) => d.by);
  return fieldTable([
    ['Approvers', `${listWithin(approvers, MessageBudget.list)} (${request.quorum} needed)`, MessageBudget.list + 20],
    ['Approvals', `${given.length} of ${request.quorum}${given.length > 0 ? ` (${listWithin(given, MessageBudget.list)})` : ''}`, MessageBudget.list + 20],
  ]);
}

function decisionBlocks(request: ApprovalRequest): Block[] {
  const shown = request.decisions.slice(0, MessageBudget.decisionsShown);
  const pairs: [string, string, number][] = shown.map((d) => [
    `${d.decision === 'approve' ? 'Approved' : 'Denied'} by ${d.by}${d.via ? ` via ${d.via}` : ''}`,
    d.reason || '(no reason given)',
    MessageBudget.reason,
  ]);
  const scope = request.decisions.find((d) => d.decision === 'approve' && d.scope === 'fingerprint');
  if (scope && request.status === 'approved') pairs.push(['Scope', `same-shape statements from this agent for ${formatDuration(request.grantTtlMs)}`, MessageBudget.shortValue]);
  const blocks = fieldTable(pairs);
  if (request.decisions.length > shown.length) blocks.push(context(`_${request.decisions.length - shown.length} more decisions, see the console._`));
  return blocks;
}

function timeLine(request: ApprovalRequest): string {
  const id = `Request \`${escapeMrkdwn(request.id)}\``;
  if (request.status === 'pending') return `${id} · requested ${slackDate(request.createdAt)} · *expires ${slackDate(request.expiresAt)}*`;
  return `${id} · requested ${slackDate(request.createdAt)} · ${request.status} ${slackDate(request.decidedAt ?? request.expiresAt)}`;
}

/** The message for the request's current state: Approve / Deny while pending, the outcome (no buttons) once final. */
export function requestMessage(request: ApprovalRequest, ctx: MessageContext): SlackMessage {
  const pending = request.status === 'pending';
  const link = consoleLink(ctx, request.id);
  const blocks: Block[] = [
    header(pending ? title(request) : `${OUTCOME_ICON[request.status] ?? ''} ${outcomeHeadline(request)}`.trim()),
    context(timeLine(request)),
    ...(pending ? [] : decisionBlocks(request)),
    ...whoBlocks(request),
    ...statementBlocks(request, ctx),
    ...whyBlocks(request),
    ...approvalsBlocks(request),
  ];
  const consoleButton = button(SlackAction.console, 'Open in console', { url: link.slice(0, SlackLimit.buttonUrl) });
  if (pending) {
    blocks.push(
      {
        type: 'actions',
        block_id: ACTIONS_BLOCK_ID,
        elements: [
          button(SlackAction.approve, 'Approve', { value: request.id, style: 'primary' }),
          button(SlackAction.deny, 'Deny', { value: request.id, style: 'danger' }),
          consoleButton,
        ],
      },
      context(`Only approvers of rule \`${escapeMrkdwn(request.rule ?? 'defaults')}\` can decide; anyone else who clicks gets a private note saying why.`),
    );
  } else {
    blocks.push({ type: 'actions', block_id: ACTIONS_BLOCK_ID, elements: [consoleButton] });
  }
  const fallback = pending ? `${title(request)} (request ${request.id})` : `Request ${request.id}: ${outcomeHeadline(request)}`;
  return { text: escapeMrkdwn(cutWithNote(fallback, MessageBudget.fallbackText, () => '…')), blocks };
}
