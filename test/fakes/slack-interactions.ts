// Interaction requests as Slack sends them to an app's Request URL: block_actions and view_submission payloads, form-encoded and signed with v0 HMAC-SHA256.
import { createHmac, randomBytes } from 'node:crypto';
import type { FakeSlackApi, OpenedView, StoredSlackMessage } from './slack-api.js';

export interface SlackTestUser {
  readonly id: string;
  readonly name: string;
  readonly email: string;
}

export interface SignedRequest {
  readonly body: string;
  readonly headers: Record<string, string>;
}

/** The form body and signature headers Slack would send for `payload` at `timestampSeconds`. */
export function signInteraction(payload: unknown, secret: string, timestampSeconds = Math.floor(Date.now() / 1000)): SignedRequest {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const timestamp = String(timestampSeconds);
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return {
    body,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Slack-Request-Timestamp': timestamp, 'X-Slack-Signature': signature },
  };
}

export interface PostResult {
  readonly status: number;
  readonly body: unknown;
}

/** POSTs a signed (or deliberately mis-signed) request to `${baseUrl}/api/slack/actions`. */
export async function postSigned(baseUrl: string, request: SignedRequest): Promise<PostResult> {
  const res = await fetch(`${baseUrl}/api/slack/actions`, { method: 'POST', headers: request.headers, body: request.body });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

function slackUser(user: SlackTestUser, teamId: string) {
  return { id: user.id, username: user.name, name: user.name, team_id: teamId };
}

/** The approve/deny button block of a stored message, as Slack echoes it in `actions[0]`. */
function buttonOf(message: StoredSlackMessage, actionId: string): Record<string, unknown> {
  for (const block of message.blocks) {
    if (block.type !== 'actions') continue;
    const button = (block.elements as Record<string, unknown>[]).find((e) => e.action_id === actionId);
    if (button) return { ...button, block_id: block.block_id, action_ts: `${Date.now() / 1000}` };
  }
  throw new Error(`slack-interactions: the message has no ${actionId} button (is the request already decided?)`);
}

/** A `block_actions` payload: `user` clicked the `actionId` button of `message`. Issues a fresh trigger_id at the fake. */
export function blockActionsPayload(api: FakeSlackApi, user: SlackTestUser, message: StoredSlackMessage, actionId: string): Record<string, unknown> {
  return {
    type: 'block_actions',
    user: slackUser(user, api.teamId),
    api_app_id: 'A0PGWARDEN',
    token: 'legacy-verification-token-unused',
    container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false },
    trigger_id: api.issueTrigger(user.id),
    team: { id: api.teamId, domain: 'pgwarden-test' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: message.channel, name: message.channel.startsWith('D') ? 'directmessage' : 'approvals' },
    message: { type: 'message', ts: message.ts, text: message.text, blocks: message.blocks, bot_id: 'B0BOT' },
    state: { values: {} },
    response_url: `https://hooks.slack.com/actions/${api.teamId}/${randomBytes(4).toString('hex')}`,
    actions: [buttonOf(message, actionId)],
  };
}

export interface ModalInputs {
  readonly reason?: string;
  readonly scope?: 'once' | 'fingerprint';
}

/** A `view_submission` payload: `user` submitted the modal `view` the app opened, with these inputs typed in. */
export function viewSubmissionPayload(api: FakeSlackApi, user: SlackTestUser, view: OpenedView, inputs: ModalInputs = {}): Record<string, unknown> {
  const values: Record<string, Record<string, unknown>> = {};
  for (const block of (view.view.blocks as Record<string, unknown>[]) ?? []) {
    if (block.type !== 'input') continue;
    const element = block.element as { type: string; action_id: string; options?: { text: unknown; value: string }[] };
    if (element.type === 'plain_text_input') values[String(block.block_id)] = { [element.action_id]: { type: 'plain_text_input', value: inputs.reason ?? null } };
    if (element.type === 'radio_buttons') {
      const chosen = element.options?.find((o) => o.value === (inputs.scope ?? 'once')) ?? null;
      values[String(block.block_id)] = { [element.action_id]: { type: 'radio_buttons', selected_option: chosen } };
    }
  }
  return {
    type: 'view_submission',
    team: { id: api.teamId, domain: 'pgwarden-test' },
    user: slackUser(user, api.teamId),
    api_app_id: 'A0PGWARDEN',
    token: 'legacy-verification-token-unused',
    trigger_id: api.issueTrigger(user.id),
    view: { ...view.view, id: view.id, team_id: api.teamId, state: { values }, hash: `${Date.now()}.hash`, app_id: 'A0PGWARDEN', bot_id: 'B0BOT' },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}

/** The message at `channel` whose Approve button carries `requestId` (or, once decided, whose text names it). */
export function messageFor(api: FakeSlackApi, channel: string, requestId: string): StoredSlackMessage | undefined {
  return api.messagesIn(channel).find((m) => JSON.stringify(m.history[0]?.blocks ?? []).includes(`"value":"${requestId}"`) || m.text.includes(requestId));
}

/** Every visible text of a message's blocks (headers, sections, fields, context, buttons), for assertions. */
export function blocksText(blocks: readonly Record<string, unknown>[]): string {
  const out: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const n = node as Record<string, unknown>;
      if ((n.type === 'plain_text' || n.type === 'mrkdwn') && typeof n.text === 'string') out.push(n.text);
      for (const v of Object.values(n)) walk(v);
    }
  };
  walk(blocks);
  return out.join('\n');
}

/** action_ids of the buttons a message offers. */
export function buttonsOf(blocks: readonly Record<string, unknown>[]): string[] {
  return blocks.filter((b) => b.type === 'actions').flatMap((b) => (b.elements as { action_id: string }[]).map((e) => e.action_id));
}
