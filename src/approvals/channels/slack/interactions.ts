// POST /api/slack/actions: verifies the signature over the raw body, refuses replays and other workspaces, acknowledges at once (Slack waits 3 s), and hands the work to the decision flow.
import type { Logger } from 'pino';
import type { Metrics } from '../../../metrics.js';
import type { Workspace } from './client.js';
import type { ClickAction, ClickPayload, DecisionFlow, SubmitPayload } from './decision-flow.js';
import { SlackAction } from './message.js';
import { readSubmission, REASON_BLOCK } from './modal.js';
import type { SlackRefs } from './refs.js';
import { verifySlackSignature } from './signature.js';

export const ACTIONS_ENDPOINT = '/api/slack/actions';

export interface InteractionRequest {
  /** The body exactly as received: the signature covers these bytes. */
  readonly rawBody: Buffer;
  readonly headers: Record<string, string | string[] | undefined>;
}

export interface InteractionResponse {
  readonly status: number;
  /** JSON body; none means an empty 200, which is how Slack wants a plain acknowledgement. */
  readonly body?: unknown;
}

export type RejectReason = 'bad_signature' | 'stale_timestamp' | 'replayed' | 'malformed' | 'foreign_workspace';

export interface InteractionDeps {
  readonly signingSecret: string;
  readonly refs: SlackRefs;
  readonly flow: DecisionFlow;
  /** The bot's workspace if already known (never waits: the answer is due within 3 s). */
  readonly workspace: () => Workspace | null;
  /** Runs work after the acknowledgement has been sent; errors are logged there. */
  readonly background: (what: string, work: () => Promise<void>) => void;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
  readonly now?: () => number;
}

interface Payload {
  readonly type?: unknown;
  readonly team?: { readonly id?: unknown; readonly enterprise_id?: unknown } | null;
  readonly enterprise?: { readonly id?: unknown } | null;
  readonly user?: { readonly id?: unknown };
  readonly actions?: readonly { readonly action_id?: unknown; readonly value?: unknown }[];
  readonly trigger_id?: unknown;
  readonly view?: unknown;
}

function parsePayload(rawBody: Buffer): Payload | null {
  const form = new URLSearchParams(rawBody.toString('utf8'));
  const text = form.get('payload');
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Payload) : null;
  } catch {
    return null;
  }
}

function fromWorkspace(payload: Payload, workspace: Workspace): boolean {
  const team = typeof payload.team?.id === 'string' ? payload.team.id : null;
  const enterprise = typeof payload.enterprise?.id === 'string' ? payload.enterprise.id : typeof payload.team?.enterprise_id === 'string' ? payload.team.enterprise_id : null;
  return team === workspace.teamId || (workspace.enterpriseId !== null && enterprise === workspace.enterpriseId);
}

export function createInteractionHandler(deps: InteractionDeps): (request: InteractionRequest) => Promise<InteractionResponse> {
  const log = deps.logger;
  const reject = (status: number, reason: RejectReason, message: string): InteractionResponse => {
    deps.metrics?.channelInboundRejected.inc({ channel: 'slack', reason });
    log.warn({ reason }, `slack: interaction refused: ${message}`);
    return { status, body: { error: { code: reason, message } } };
  };

  return async function handleInteraction({ rawBody, headers }) {
    const check = verifySlackSignature(deps.signingSecret, headers, rawBody, (deps.now ?? Date.now)());
    if (!check.ok) {
      if (check.reason === 'stale_timestamp') return reject(401, 'stale_timestamp', 'the request timestamp is more than 5 minutes from now');
      return reject(401, 'bad_signature', check.reason === 'missing_headers' ? 'X-Slack-Signature or X-Slack-Request-Timestamp is missing' : 'the signature does not match');
    }
    const payload = parsePayload(rawBody);
    if (!payload || typeof payload.type !== 'string' || typeof payload.user?.id !== 'string') return reject(400, 'malformed', 'the body has no JSON payload with a type and a user');
    // After the signature: only Slack can make an entry here, so strangers cannot fill the store.
    let first: boolean;
    try {
      first = await deps.refs.firstSighting(check.signature);
    } catch (err) {
      // Without the store there is no replay check, and no decision could be recorded anyway: fail closed.
      log.error({ err: (err as Error).message }, 'slack: interaction refused: the approval store is unreachable');
      return { status: 503, body: { error: { code: 'unavailable', message: 'the approval store is unreachable' } } };
    }
    if (!first) return reject(401, 'replayed', 'this exact request was already received');
    const workspace = deps.workspace();
    if (workspace && !fromWorkspace(payload, workspace)) return reject(403, 'foreign_workspace', 'the request comes from another Slack workspace');

    if (payload.type === 'block_actions') {
      const action = payload.actions?.[0];
      const actionId = typeof action?.action_id === 'string' ? action.action_id : '';
      if ((actionId === SlackAction.approve || actionId === SlackAction.deny) && typeof payload.trigger_id === 'string') {
        const click: ClickAction = { action_id: actionId, ...(typeof action?.value === 'string' ? { value: action.value } : {}) };
        deps.background('click', () => deps.flow.onClick(payload as unknown as ClickPayload, click));
      }
      // The console button is a link: Slack still reports its click, and wants the 200.
      return { status: 200 };
    }
    if (payload.type === 'view_submission') {
      const submission = readSubmission(payload.view);
      if (!submission) return { status: 200 };
      // Checked here, inside the 3 s, so the modal stays open and says what is missing.
      if (submission.meta.decision === 'deny' && submission.reason === '') {
        return { status: 200, body: { response_action: 'errors', errors: { [REASON_BLOCK]: 'A denial needs a reason: the agent reads it in its error and can adjust.' } } };
      }
      deps.background('submission', () => deps.flow.onSubmit(payload as unknown as SubmitPayload, submission));
      return { status: 200 };
    }
    return { status: 200 };
  };
}
