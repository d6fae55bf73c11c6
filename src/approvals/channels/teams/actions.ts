// Answers `adaptiveCard/action` invokes: refresh renders the clicker's view; approve / deny decide through the service and answer with the updated card or a refusal card.
import type { IAdaptiveCard } from '@microsoft/teams.cards';
import type { IActivityContext } from '@microsoft/teams.apps';
import type { InvokeResponse } from '@microsoft/teams.api';
import type { Logger } from 'pino';
import type { ApprovalScope } from '../../../policy/verdict.js';
import type { ApprovalRequest } from '../../request.js';
import { normalizeIdentity, requesterIdentities } from '../../identity.js';
import type { DecideInput, DecideResult, PendingStore } from '../../store.js';
import { requestCard, resultCard, TeamsVerb, type CardContext, type CardNotice } from './card.js';
import type { TeamsIdentities } from './identity.js';
import type { TeamsRoster } from './roster.js';

export interface CardActionDeps {
  readonly store: PendingStore;
  readonly decide: (input: DecideInput) => Promise<DecideResult>;
  readonly identities: TeamsIdentities;
  /** UPN lookups through the conversation roster, cached for teams.lookup_ttl. */
  readonly roster: TeamsRoster;
  readonly cardContext: (request: ApprovalRequest) => Promise<CardContext>;
  readonly logger: Logger;
  /** The activity comes from a tenant other than teams.tenant_id. */
  readonly foreignTenant: boolean;
}

type Invoke = InvokeResponse<'adaptiveCard/action'>;

function cardResponse(card: IAdaptiveCard): Invoke {
  return { status: 200, body: { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: card } };
}

function messageResponse(text: string): Invoke {
  return { status: 200, body: { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: text } };
}

function badRequest(message: string): Invoke {
  return { status: 200, body: { statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'BadRequest', message, innerHttpError: { statusCode: 400, body: null } } } } as Invoke;
}

/** May this identity still vote on this request? (Mirrors the store's rules so the view matches what a click would do.) */
export function canVote(identity: string, request: ApprovalRequest): boolean {
  const me = normalizeIdentity(identity);
  return (
    request.status === 'pending' &&
    request.approvers.some((a) => normalizeIdentity(a) === me) &&
    !requesterIdentities(request.actor).includes(me) &&
    !request.decisions.some((d) => normalizeIdentity(d.by) === me)
  );
}

/**
 * The clicker's approver identity: by Entra object id, else by the UPN the conversation roster states (cached for
 * teams.lookup_ttl, so a renamed or removed user stops matching). Never by e-mail: an address is not an identity.
 */
async function whoClicked(ctx: IActivityContext, deps: CardActionDeps): Promise<{ identity: string | null; label: string }> {
  const from = ctx.activity.from;
  const label = from.name ? `${from.name} (${from.aadObjectId ?? from.id})` : (from.aadObjectId ?? from.id);
  const direct = deps.identities.resolve({ aadObjectId: from.aadObjectId });
  if (direct || !deps.identities.needsUpn(from.aadObjectId) || !from.aadObjectId) return { identity: direct, label };
  let upn: string | undefined;
  try {
    upn = await deps.roster.upnOf(ctx.activity.conversation.id, from.id, from.aadObjectId, ctx.api.conversations);
  } catch (err) {
    deps.logger.warn({ err: (err as Error).message }, 'teams: roster lookup for the clicking user failed');
  }
  return { identity: deps.identities.resolve({ aadObjectId: from.aadObjectId, upn }), label };
}

const REFUSAL: Record<string, (identity: string, request: ApprovalRequest) => string> = {
  self_approval: () => 'You cannot approve this request: you are its requester or the owner of the agent that sent it. Another approver must decide.',
  not_approver: (identity, request) =>
    `${identity} is not an approver for rule ${request.rule ?? '(defaults)'}; approvers: ${(request.groups.length ? request.groups : request.approvers).join(', ')}.`,
  duplicate_vote: (identity) => `${identity} already voted on this request; it is waiting for other approvers.`,
};

export async function handleCardAction(ctx: IActivityContext, deps: CardActionDeps): Promise<Invoke> {
  const activity = ctx.activity as unknown as { id?: string; value?: { action?: { verb?: string; data?: Record<string, unknown> } } };
  const action = activity.value?.action;
  const verb = action?.verb;
  const data = action?.data ?? {};
  const requestId = typeof data.request_id === 'string' ? data.request_id : null;
  if (verb !== TeamsVerb.approve && verb !== TeamsVerb.deny && verb !== TeamsVerb.refresh) return badRequest(`unknown action verb '${String(verb)}'`);
  if (!requestId) return badRequest('the card action carries no request_id');
  if (deps.foreignTenant) return messageResponse('pgwarden: this bot only answers its own Microsoft Entra tenant.');

  const request = await deps.store.get(requestId);
  if (!request) return messageResponse(`pgwarden: request ${requestId} was not found (it may be older than the store keeps).`);
  const cardCtx = await deps.cardContext(request);
  const { identity, label } = await whoClicked(ctx, deps);

  if (verb === TeamsVerb.refresh) {
    // Refresh only renders: it never decides, whatever data it carries.
    if (request.status !== 'pending') return cardResponse(resultCard(request, cardCtx));
    return cardResponse(requestCard(request, cardCtx, { withActions: identity !== null && canVote(identity, request) }));
  }

  if (request.status !== 'pending') {
    return cardResponse(resultCard(request, cardCtx, { style: 'warning', text: `This request is already ${request.status}.` }));
  }
  if (!identity) {
    deps.logger.warn({ request_id: request.id, aad_object_id: ctx.activity.from.aadObjectId }, 'teams: click from a user not mapped to an approver identity');
    const notice: CardNotice = {
      style: 'attention',
      text: `Your Teams account ${label} is not mapped to a pgwarden approver identity, so your click was not counted. Ask a pgwarden administrator to add your Azure AD object id to teams.identities.`,
    };
    return cardResponse(requestCard(request, cardCtx, { withActions: false, notice }));
  }

  const decision = verb === TeamsVerb.approve ? 'approve' : 'deny';
  const reason = typeof data.reason === 'string' ? data.reason.trim().slice(0, 1000) : '';
  const scope: ApprovalScope | undefined =
    decision === 'approve' ? (data.scope === 'fingerprint' && request.scopes.includes('fingerprint') ? 'fingerprint' : 'once') : undefined;
  const result = await deps.decide({
    id: request.id,
    by: identity,
    decision,
    reason,
    ...(scope ? { scope } : {}),
    via: 'teams',
    // Teams retries an invoke it got no answer for with the same activity id.
    ...(activity.id ? { idempotencyKey: `teams:${activity.id}` } : {}),
  });
  deps.logger.info({ request_id: request.id, by: identity, decision, ok: result.ok, error: result.ok ? undefined : result.error }, 'teams: card decision');

  if (result.ok) {
    const now = result.request;
    if (now.status !== 'pending') return cardResponse(resultCard(now, await deps.cardContext(now)));
    const notice: CardNotice = { style: 'good', text: `Your ${decision === 'approve' ? 'approval' : 'denial'} is recorded; waiting for other approvers.` };
    return cardResponse(requestCard(now, await deps.cardContext(now), { withActions: false, notice }));
  }
  const now = result.request ?? request;
  if (result.error === 'already_decided' || now.status !== 'pending') {
    return cardResponse(resultCard(now, await deps.cardContext(now), { style: 'warning', text: `This request was already ${now.status} before your click.` }));
  }
  if (result.error === 'not_found') return messageResponse(`pgwarden: request ${request.id} no longer exists.`);
  const text = (REFUSAL[result.error] ?? (() => `Your decision was refused (${result.error}).`))(identity, now);
  return cardResponse(requestCard(now, await deps.cardContext(now), { withActions: false, notice: { style: 'attention', text } }));
}
