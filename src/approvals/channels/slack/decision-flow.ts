// What a click and a submitted modal do, after the request was acknowledged: Approve / Deny opens the reason modal (or says privately why not), a submission decides through the shared path and answers refusals ephemerally.
import type { Logger } from 'pino';
import { ApprovalsUnavailable } from '../../../errors.js';
import type { ApprovalScope } from '../../../policy/verdict.js';
import { approvalUrl } from '../../notice.js';
import type { DecideInput, DecideResult, PendingStore } from '../../store.js';
import { slackErrorCode, type SlackApi } from './client.js';
import type { SlackIdentities } from './identity.js';
import { SlackAction } from './message.js';
import { decisionModal, type Submission } from './modal.js';
import { foreseeRefusal, refusalText } from './refusals.js';

export interface DecisionFlowDeps {
  readonly store: PendingStore;
  /** The approval service's decide: quorum, self-approval and group checks happen there, atomically. */
  readonly decide: (input: DecideInput) => Promise<DecideResult>;
  readonly api: SlackApi;
  readonly identities: SlackIdentities;
  readonly publicUrl: string;
  readonly redactLiterals: boolean;
  readonly logger: Logger;
}

/** The parts of a block_actions payload the flow uses (Slack sends many more). */
export interface ClickPayload {
  readonly user: { readonly id: string };
  readonly trigger_id: string;
  readonly container?: { readonly channel_id?: string };
  readonly channel?: { readonly id?: string };
}

export interface ClickAction {
  readonly action_id: string;
  readonly value?: string;
}

export interface SubmitPayload {
  readonly user: { readonly id: string };
  readonly view: { readonly id?: string };
}

export function createDecisionFlow(deps: DecisionFlowDeps) {
  const { api, logger: log } = deps;

  /** A message only `user` sees, in the conversation of the clicked message. Failure is logged: there is nowhere else to say it. */
  async function tell(channel: string | null, user: string, text: string): Promise<void> {
    if (!channel) {
      log.warn({ slack_user: user }, 'slack: no conversation to answer the user in');
      return;
    }
    try {
      await api.postEphemeral(channel, user, text);
    } catch (err) {
      log.warn({ slack_user: user, channel, err: slackErrorCode(err) }, 'slack: could not send the ephemeral answer');
    }
  }

  /** Whatever goes wrong while handling a click or a submission, the person who clicked hears about it. */
  async function answering(channel: string | null, user: string, what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      log.error({ slack_user: user, err: (err as Error).message }, `slack: handling a ${what} failed`);
      await tell(channel, user, `pgwarden: your ${what} could not be handled (${err instanceof ApprovalsUnavailable ? 'the approval store is unreachable' : 'an internal error'}); try again, or use the console.`);
    }
  }

  function onClick(payload: ClickPayload, action: ClickAction): Promise<void> {
    const channel = payload.container?.channel_id ?? payload.channel?.id ?? null;
    return answering(channel, payload.user.id, 'click', () => click(payload, action, channel));
  }

  function onSubmit(payload: SubmitPayload, submission: Submission): Promise<void> {
    return answering(submission.meta.channel, payload.user.id, 'decision', () => submit(payload, submission));
  }

  async function click(payload: ClickPayload, action: ClickAction, channel: string | null): Promise<void> {
    const user = payload.user.id;
    const decision = action.action_id === SlackAction.approve ? 'approve' : 'deny';
    const requestId = action.value ?? '';
    const request = requestId ? await deps.store.get(requestId) : null;
    if (!request) return tell(channel, user, refusalText('not_found', '', null));
    const who = await deps.identities.resolve(user);
    if (!who.ok) {
      log.warn({ request_id: request.id, slack_user: user }, 'slack: click from a user not mapped to an approver identity');
      return tell(channel, user, `pgwarden: your click was not counted: ${who.why}.`);
    }
    const refusal = foreseeRefusal(who.identity, request);
    if (refusal) {
      log.info({ request_id: request.id, by: who.identity, refusal }, 'slack: click refused before the modal');
      return tell(channel, user, refusalText(refusal, who.identity, request));
    }
    try {
      await api.openView(payload.trigger_id, decisionModal(request, { requestId: request.id, decision, channel }, deps.redactLiterals));
    } catch (err) {
      const code = slackErrorCode(err);
      log.warn({ request_id: request.id, slack_user: user, err: code }, 'slack: views.open failed');
      const text =
        code === 'expired_trigger_id'
          ? 'pgwarden: Slack allows 3 seconds to open the form and that passed; please click again.'
          : `pgwarden: the form could not be opened (${code}); decide in the console instead: ${approvalUrl(deps.publicUrl, request.id)}`;
      await tell(channel, user, text);
    }
  }

  async function submit(payload: SubmitPayload, submission: Submission): Promise<void> {
    const user = payload.user.id;
    const { meta } = submission;
    const who = await deps.identities.resolve(user);
    if (!who.ok) return tell(meta.channel, user, `pgwarden: your decision was not counted: ${who.why}.`);
    const request = await deps.store.get(meta.requestId);
    let scope: ApprovalScope | undefined = submission.scope;
    if (scope === 'fingerprint' && !request?.scopes.includes('fingerprint')) scope = 'once';
    let result: DecideResult;
    try {
      result = await deps.decide({
        id: meta.requestId,
        by: who.identity,
        decision: meta.decision,
        reason: submission.reason,
        ...(scope ? { scope } : {}),
        via: 'slack',
        // One modal is one decision: a repeated submission of the same view returns the first result.
        ...(payload.view.id ? { idempotencyKey: `slack:${payload.view.id}` } : {}),
      });
    } catch (err) {
      log.error({ request_id: meta.requestId, by: who.identity, err: (err as Error).message }, 'slack: recording the decision failed');
      const why = err instanceof ApprovalsUnavailable ? 'the approval store is unreachable' : 'an internal error';
      return tell(meta.channel, user, `pgwarden: your decision could not be recorded (${why}); try again, or use the console: ${approvalUrl(deps.publicUrl, meta.requestId)}`);
    }
    log.info({ request_id: meta.requestId, by: who.identity, decision: meta.decision, ok: result.ok, error: result.ok ? undefined : result.error }, 'slack: decision');
    if (!result.ok) return tell(meta.channel, user, refusalText(result.error, who.identity, result.request ?? request));
    if (!result.settled && result.replayed !== true && result.request.status === 'pending') {
      const approvals = result.request.decisions.filter((d) => d.decision === 'approve').length;
      const left = Math.max(0, result.request.quorum - approvals);
      await tell(meta.channel, user, `pgwarden: your ${meta.decision === 'approve' ? 'approval' : 'denial'} of request ${meta.requestId} is recorded; waiting for ${left} more approval${left === 1 ? '' : 's'}.`);
    }
  }

  return { onClick, onSubmit };
}

export type DecisionFlow = ReturnType<typeof createDecisionFlow>;
