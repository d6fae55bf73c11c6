// Adaptive Card 1.5 views of an approval request for Teams: the shared card, the approver's view with buttons, and the result card.
import type { IAdaptiveCard, IExecuteAction, IRefreshDefinition } from '@microsoft/teams.cards';
import type { ApprovalRequest } from '../../request.js';
import { formatDuration } from '../../../units.js';
import { approvalUrl } from '../../notice.js';
import { cardTime, cutToJsonBytes, fitList, fitText, formatUtc, jsonBytes, preserveWhitespace } from './text.js';
import { truncationNote } from '../../stored-text.js';
import { describeAuth, describeRequester } from '../../identity.js';

/**
 * Verbs of every Action.Execute on our cards. Teams only delivers an `adaptiveCard/action` invoke for an
 * Action.Execute that has a verb; only approve and deny decide, refresh merely renders a view.
 */
export const TeamsVerb = {
  approve: 'pgwarden.approve',
  deny: 'pgwarden.deny',
  refresh: 'pgwarden.refresh',
} as const;
export type TeamsVerb = (typeof TeamsVerb)[keyof typeof TeamsVerb];

/** Teams refuses messages above 28 KB. */
export const TEAMS_MESSAGE_LIMIT = 28 * 1024;
/** What a card may use: the rest of the limit is the activity envelope (ids, serviceUrl, attachment wrapper). */
export const CARD_BUDGET = 26 * 1024;
/** Teams refreshes user-specific views automatically for at most 60 listed users. */
export const MAX_REFRESH_USERS = 60;

/**
 * Byte budgets (of JSON) per field, so that no one field can crowd out the rest: a DROP of 4,000 tables once made a
 * 126 KB card because only the statement was budgeted. Whatever is cut ends "… N more, see console".
 */
export const FIELD_BUDGET = {
  /** user, application, address, owner, database, rule id, categories. */
  short: 512,
  /** the rule's reason, the agent's stated reason, the withdrawal reason. */
  reason: 2048,
  tables: 2048,
  approvers: 1024,
  /** each approver's reason on the result card. */
  decisionReason: 1024,
} as const;
/** Decisions listed on a result card; more (a large quorum) are counted, and the console lists them all. */
export const MAX_DECISIONS_SHOWN = 10;

export interface CardContext {
  /** Base URL of the pgwarden console, linked from the card. */
  readonly publicUrl: string;
  /** User MRIs whose client refreshes the card automatically into their own view (the approvers). */
  readonly refreshUserIds: readonly string[];
  /** Show only the literal-free form of the statement (audit.redact_literals). */
  readonly redactLiterals: boolean;
}

export type NoticeStyle = 'attention' | 'warning' | 'good' | 'accent';
export interface CardNotice {
  readonly text: string;
  readonly style: NoticeStyle;
}

type Element = Record<string, unknown>;

/** A plain-text run: TextRun is never read as markdown, so SQL `*`, `_` and agent-written `[links](…)` show as typed. */
function run(text: string, extra: Element = {}): Element {
  return { type: 'TextRun', text, ...extra };
}

function field(label: string, value: string, budget: number = FIELD_BUDGET.short): Element {
  return { type: 'RichTextBlock', spacing: 'None', inlines: [run(`${label}: `, { weight: 'Bolder' }), run(fitText(value, budget))] };
}

/** A time in each viewer's own locale and time zone (Adaptive Card DATE/TIME functions need a TextBlock). */
function timeField(label: string, iso: string | null | undefined): Element {
  return { type: 'TextBlock', text: `**${label}:** ${cardTime(iso)}`, spacing: 'None', wrap: true };
}

/** Section headings use the `heading` style (Adaptive Cards 1.5), which screen readers announce as headings. */
function heading(text: string): Element {
  return { type: 'TextBlock', text, style: 'heading', weight: 'Bolder', spacing: 'Medium', wrap: true };
}

function noticeBlock(notice: CardNotice): Element {
  return {
    type: 'Container',
    style: notice.style,
    bleed: true,
    items: [{ type: 'RichTextBlock', inlines: [run(notice.text, { weight: 'Bolder' })] }],
  };
}

/** The console page for one request (the same link the waiting notice gives). */
export function consoleUrl(publicUrl: string, id: string): string {
  return approvalUrl(publicUrl, id);
}

function refreshDefinition(request: ApprovalRequest, ctx: CardContext): IRefreshDefinition {
  return {
    action: { type: 'Action.Execute', title: 'Refresh', verb: TeamsVerb.refresh, data: { request_id: request.id } },
    userIds: ctx.refreshUserIds.slice(0, MAX_REFRESH_USERS),
  };
}

interface CodeLines {
  readonly elements: Element[];
  readonly bytes: number;
}

/** One monospace block per source line (layout preserved), cut to `budget` bytes of JSON with a note saying what was left out. */
function codeLines(text: string, budget: number, id: string, publicUrl: string): CodeLines {
  const lines = text.split('\n');
  const elements: Element[] = [];
  const NOTE_RESERVE = 400;
  let used = 0;
  let shownChars = 0;
  let truncated = false;
  const lineElement = (t: string): Element => ({
    type: 'RichTextBlock',
    spacing: 'None',
    inlines: [run(preserveWhitespace(t), { fontType: 'Monospace', size: 'Small' })],
  });
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const el = lineElement(line);
    const cost = jsonBytes(el) + 1;
    const last = i === lines.length - 1;
    if (used + cost <= budget - (last ? 0 : NOTE_RESERVE)) {
      elements.push(el);
      used += cost;
      shownChars += line.length + 1;
      continue;
    }
    // Part of this line still fits: show its beginning, then stop.
    const room = budget - NOTE_RESERVE - used - jsonBytes(lineElement('')) - 1;
    if (room > 40) {
      const shown = cutToJsonBytes(preserveWhitespace(line), room);
      const partial: Element = { type: 'RichTextBlock', spacing: 'None', inlines: [run(shown, { fontType: 'Monospace', size: 'Small' })] };
      elements.push(partial);
      used += jsonBytes(partial) + 1;
      shownChars += shown.length;
    }
    truncated = true;
    break;
  }
  if (truncated) {
    const note: Element = {
      type: 'TextBlock',
      isSubtle: true,
      wrap: true,
      size: 'Small',
      text: `… truncated: about ${Math.min(shownChars, text.length)} of ${text.length} characters shown. Full text: ${consoleUrl(publicUrl, id)}`,
    };
    elements.push(note);
    used += jsonBytes(note) + 1;
  }
  return { elements, bytes: used };
}

/** The heading (a TextBlock, read as markdown): only closed-set words here; client-chosen names go in plain text runs below. */
function title(request: ApprovalRequest): string {
  const what = request.categories.length > 0 ? request.categories.join(', ') : 'statement';
  return `Approval needed: ${what}`;
}

function votesLine(request: ApprovalRequest): Element | null {
  const approvals = request.decisions.filter((d) => d.decision === 'approve');
  if (request.quorum <= 1 && approvals.length === 0) return null;
  const who = fitList(approvals.map((d) => d.by), FIELD_BUDGET.approvers);
  return field('Approvals', `${approvals.length} of ${request.quorum}${who ? ` (${who})` : ''}`, FIELD_BUDGET.approvers + 64);
}

interface Sections {
  readonly header: Element[];
  readonly who: Element[];
  readonly why: Element[];
  readonly when: Element[];
}

function sections(request: ApprovalRequest, headerStyle: string, headerText: string, extraHeader: Element[], headerTime?: string): Sections {
  const actor = request.actor;
  const who: Element[] = [
    heading('Who'),
    field('User', describeRequester(actor)),
    ...(describeAuth(actor) ? [field('Authenticated by', describeAuth(actor)!)] : []),
    field('Application', actor.application || '(none)'),
    field('Client address', actor.address),
    ...(actor.owner ? [field('Owner', actor.owner)] : []),
    field('Database', request.database),
  ];
  const why: Element[] = [
    heading('Why'),
    field('Rule', request.rule ?? '(defaults)'),
    field('Rule reason', request.ruleReason, FIELD_BUDGET.reason),
    field('Categories', request.categories.join(', ') || '(none)'),
    field('Tables', fitList(request.tables, FIELD_BUDGET.tables) || '(none)', FIELD_BUDGET.tables + 64),
    field("Agent's stated reason", request.statedReason ?? '(none given)', FIELD_BUDGET.reason),
  ];
  const approvers = fitList(request.groups.length > 0 ? request.groups : request.approvers, FIELD_BUDGET.approvers);
  const when: Element[] = [
    heading('When'),
    timeField('Requested', request.createdAt),
    timeField('Expires', request.expiresAt),
    field('Approvers', `${approvers || '(none)'} — ${request.quorum} needed`, FIELD_BUDGET.approvers + 64),
  ];
  const header: Element[] = [
    {
      type: 'Container',
      style: headerStyle,
      bleed: true,
      items: [
        { type: 'TextBlock', text: headerText, style: 'heading', weight: 'Bolder', size: 'Medium', wrap: true },
        ...(headerTime ? [{ type: 'TextBlock', text: cardTime(headerTime), spacing: 'None', size: 'Small', wrap: true }] : []),
        { type: 'TextBlock', text: `Request ${request.id}`, isSubtle: true, spacing: 'None', size: 'Small', wrap: true },
        ...extraHeader,
      ],
    },
  ];
  return { header, who, why, when };
}

interface Layout {
  readonly request: ApprovalRequest;
  readonly ctx: CardContext;
  readonly headerStyle: string;
  readonly headerText: string;
  /** Plain text for notifications and clients without cards (times in UTC: the DATE/TIME functions are not rendered there). */
  readonly fallbackText?: string;
  /** When the outcome happened, shown under the heading in the viewer's locale. */
  readonly headerTime?: string | undefined;
  readonly extraHeader: Element[];
  readonly notice?: CardNotice | undefined;
  readonly tail: Element[];
  readonly actions: IExecuteAction[];
  readonly refresh: boolean;
}

function assemble(layout: Layout, statement: Element[], normalized: Element[]): IAdaptiveCard {
  const { request, ctx } = layout;
  const s = sections(request, layout.headerStyle, layout.headerText, layout.extraHeader, layout.headerTime);
  const what: Element[] = [heading(ctx.redactLiterals ? 'What (literals redacted)' : 'What'), ...statement];
  if (normalized.length > 0) what.push({ type: 'TextBlock', text: 'Normalized form', isSubtle: true, size: 'Small', spacing: 'Small' }, ...normalized);
  const body = [
    ...(layout.notice ? [noticeBlock(layout.notice)] : []),
    ...s.header,
    ...s.who,
    ...what,
    ...s.why,
    ...s.when,
    { type: 'TextBlock', text: `[Open in the pgwarden console](${consoleUrl(ctx.publicUrl, request.id)})`, size: 'Small', spacing: 'Medium', wrap: true },
    ...layout.tail,
  ];
  const card: Record<string, unknown> = {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    fallbackText: `${layout.fallbackText ?? layout.headerText} (request ${request.id})`,
    msteams: { width: 'Full' },
    body,
  };
  if (layout.refresh) card.refresh = refreshDefinition(request, ctx);
  if (layout.actions.length > 0) card.actions = layout.actions;
  return card as unknown as IAdaptiveCard;
}

/** Builds the card, giving the statement (and then its normalized form) whatever room the rest leaves under CARD_BUDGET. */
function render(layout: Layout): IAdaptiveCard {
  const { request, ctx } = layout;
  const fixed = jsonBytes(assemble(layout, [], []));
  let left = CARD_BUDGET - fixed - 64;
  const primaryText = [ctx.redactLiterals ? request.normalized : request.sql, truncationNote(request)].filter(Boolean).join('\n');
  const showNormalized = !ctx.redactLiterals && request.normalized !== '' && request.normalized !== request.sql;
  const primaryBudget = showNormalized ? Math.floor(left * 0.7) : left;
  const primary = codeLines(primaryText, Math.max(primaryBudget, 0), request.id, ctx.publicUrl);
  left -= primary.bytes;
  const normalized = showNormalized && left > 600 ? codeLines(request.normalized, left - 200, request.id, ctx.publicUrl).elements : [];
  return assemble(layout, primary.elements, normalized);
}

export interface RequestCardOptions {
  /** Approver's view: reason box, scope choice and the Approve / Deny buttons. */
  readonly withActions: boolean;
  readonly notice?: CardNotice | undefined;
}

/** The card for a pending request. Without actions it is the copy everyone sees; approvers' clients refresh it into their view with actions. */
export function requestCard(request: ApprovalRequest, ctx: CardContext, options: RequestCardOptions): IAdaptiveCard {
  const tail: Element[] = [];
  const actions: IExecuteAction[] = [];
  const votes = votesLine(request);
  if (options.withActions) {
    tail.push({
      type: 'Input.Text',
      id: 'reason',
      label: 'Reason (shown to the agent and recorded in the audit log)',
      isMultiline: true,
      maxLength: 1000,
      placeholder: 'Why approve or deny?',
    });
    if (request.scopes.includes('fingerprint')) {
      tail.push({
        type: 'Input.ChoiceSet',
        id: 'scope',
        label: 'Approve for',
        style: 'expanded',
        value: 'once',
        choices: [
          { title: 'This statement only', value: 'once' },
          { title: `Statements of the same shape from this agent for ${formatDuration(request.grantTtlMs)}`, value: 'fingerprint' },
        ],
      });
    }
    const data = { request_id: request.id };
    actions.push(
      { type: 'Action.Execute', title: 'Approve', verb: TeamsVerb.approve, style: 'positive', data, associatedInputs: 'auto' } as IExecuteAction,
      { type: 'Action.Execute', title: 'Deny', verb: TeamsVerb.deny, style: 'destructive', data, associatedInputs: 'auto' } as IExecuteAction,
    );
  } else {
    tail.push({ type: 'TextBlock', text: 'Approvers see Approve and Deny here (use "Refresh card" if they do not appear).', isSubtle: true, size: 'Small', wrap: true });
    if (ctx.refreshUserIds.length > MAX_REFRESH_USERS) {
      // Teams refreshes automatically for 60 listed users only; the others get their view on demand.
      tail.push({
        type: 'TextBlock',
        text: `More than ${MAX_REFRESH_USERS} approvers: if the buttons do not appear for you, use "Refresh card" from the message menu, or decide in the console.`,
        isSubtle: true,
        size: 'Small',
        wrap: true,
      });
    }
  }
  return render({
    request,
    ctx,
    headerStyle: 'warning',
    headerText: title(request),
    extraHeader: votes ? [votes] : [],
    notice: options.notice,
    tail,
    actions,
    refresh: true,
  });
}

const OUTCOME_STYLE: Record<string, string> = { approved: 'good', denied: 'attention', expired: 'warning', withdrawn: 'emphasis' };

/** When the request reached its state (the decision, the expiry, the withdrawal). */
function settledAt(request: ApprovalRequest): string | null {
  const last = request.decisions.at(-1);
  if (request.status === 'expired') return request.decidedAt ?? request.expiresAt;
  if (request.status === 'denied') return request.decidedAt ?? request.decisions.find((d) => d.decision === 'deny')?.at ?? null;
  return request.decidedAt ?? last?.at ?? null;
}

/** "Approved by alice@example.com" and friends: the result card's heading (its time follows, localised, below it). */
export function outcomeText(request: ApprovalRequest): string {
  const last = request.decisions.at(-1);
  const approvers = request.decisions.filter((d) => d.decision === 'approve').map((d) => d.by);
  switch (request.status) {
    case 'approved':
      return `Approved by ${fitList(approvers, FIELD_BUDGET.approvers) || last?.by || 'unknown'}`;
    case 'denied':
      return `Denied by ${request.decisions.find((d) => d.decision === 'deny')?.by ?? 'unknown'}`;
    case 'expired':
      return 'Expired — nobody decided in time';
    case 'withdrawn':
      return `Withdrawn (${fitText(request.withdrawnReason ?? 'client went away', FIELD_BUDGET.short)})`;
    default:
      return 'Pending';
  }
}

/** The outcome with its time in UTC, for plain-text places (notifications, fallbackText): "Approved by alice at 2026-05-01 10:32:05 UTC". */
export function outcomeSummary(request: ApprovalRequest): string {
  return `${outcomeText(request)} at ${formatUtc(settledAt(request))}`;
}

/** The card every copy becomes once the request is decided, expired or withdrawn. No buttons, no refresh. */
export function resultCard(request: ApprovalRequest, ctx: CardContext, notice?: CardNotice): IAdaptiveCard {
  const shown = request.decisions.slice(0, MAX_DECISIONS_SHOWN);
  const decisions: Element[] = [];
  for (const d of shown) {
    decisions.push(field(`${d.decision === 'approve' ? 'Approved' : 'Denied'} by ${d.by}${d.via ? ` via ${d.via}` : ''}`, d.reason || '(no reason given)', FIELD_BUDGET.decisionReason));
    decisions.push({ type: 'TextBlock', text: cardTime(d.at), isSubtle: true, spacing: 'None', size: 'Small', wrap: true });
  }
  if (request.decisions.length > shown.length) {
    decisions.push({ type: 'TextBlock', text: `… and ${request.decisions.length - shown.length} more decisions, see console`, isSubtle: true, spacing: 'None', size: 'Small', wrap: true });
  }
  const scope = request.decisions.find((d) => d.decision === 'approve' && d.scope === 'fingerprint');
  if (scope && request.status === 'approved') {
    decisions.push(field('Scope', `same-shape statements from this agent for ${formatDuration(request.grantTtlMs)}`));
  }
  return render({
    request,
    ctx: { ...ctx, refreshUserIds: [] },
    headerStyle: OUTCOME_STYLE[request.status] ?? 'emphasis',
    headerText: outcomeText(request),
    fallbackText: outcomeSummary(request),
    headerTime: settledAt(request) ?? undefined,
    extraHeader: decisions,
    notice,
    tail: [],
    actions: [],
    refresh: false,
  });
}

/** The card for the current state: result card once final, else the shared (button-less) card. */
export function currentCard(request: ApprovalRequest, ctx: CardContext): IAdaptiveCard {
  return request.status === 'pending' ? requestCard(request, ctx, { withActions: false }) : resultCard(request, ctx);
}
