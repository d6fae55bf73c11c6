// The Slack approval channel: posts the request's message to channels and DMs, keeps every copy current with chat.update, and turns Approve / Deny into decisions through the shared path.
import type { RetryOptions } from '@slack/web-api';
import type { Config } from '../../../config.js';
import { ConfigError } from '../../../errors.js';
import type { ApprovalRequest } from '../../request.js';
import type { ApprovalChannel, InteractiveChannelDeps } from '../channel.js';
import { createSlackApi, slackErrorCode, type SlackApi, type Workspace } from './client.js';
import { createDecisionFlow } from './decision-flow.js';
import { SlackIdentities } from './identity.js';
import { ACTIONS_ENDPOINT, createInteractionHandler, type InteractionRequest, type InteractionResponse } from './interactions.js';
import { requestMessage, type MessageContext } from './message.js';
import { SlackRefs, type MessageCopy } from './refs.js';
import { conversationsFor } from './targets.js';

/** Message references outlive their request by this long, so late updates (an expiry seen after a restart) still find them. */
const COPY_RETENTION_MS = 7 * 24 * 3_600_000;
/** After a failed auth.test, the next caller asks again no sooner than this. */
const WORKSPACE_RETRY_MS = 30_000;
/** close() waits this long for work in progress (a Retry-After sleep inside the SDK cannot be interrupted). */
const CLOSE_GRACE_MS = 2_000;

export interface SlackChannelDeps extends InteractiveChannelDeps {
  readonly config: Config['slack'];
  /** Test seam: the Web API base URL (a local fake). */
  readonly slackApiUrl?: string | undefined;
  /** Test seam: the delivery retry policy (shorter backoff). */
  readonly retry?: RetryOptions | undefined;
  /** Test seam: the clock the signature window is checked against. */
  readonly now?: (() => number) | undefined;
}

export interface SlackChannel extends ApprovalChannel {
  /** Path of the interactivity endpoint (app.ts mounts handleInteraction there). */
  readonly actionsEndpoint: string;
  /** One interaction request, body unread by anyone else: verified, acknowledged, its work started. */
  handleInteraction(request: InteractionRequest): Promise<InteractionResponse>;
  close(): Promise<void>;
}

/** Fails fast at startup when Slack is on but cannot work: both secrets are needed before anything is posted. */
export function checkSlackConfig(config: Config['slack']): void {
  const missing = [
    ...(config.bot_token?.reveal() ? [] : ['slack.bot_token (or PGWARDEN_SLACK_BOT_TOKEN)']),
    ...(config.signing_secret?.reveal() ? [] : ['slack.signing_secret (or PGWARDEN_SLACK_SIGNING_SECRET)']),
  ];
  if (missing.length > 0) throw new ConfigError(`slack.enabled is true but ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set: see docs/slack.md`);
}

/** Later states win: a final status over pending, more votes over fewer. */
function rank(request: ApprovalRequest): number {
  return (request.status === 'pending' ? 0 : 1_000_000) + request.decisions.length;
}

export function createSlackChannel(deps: SlackChannelDeps): SlackChannel {
  const { config } = deps;
  checkSlackConfig(config);
  const log = deps.logger.child({ channel: 'slack' });
  if (config.channels.length === 0 && !config.dm_approvers) log.warn('slack: nowhere to post: set slack.channels or slack.dm_approvers');
  if (config.dm_approvers && Object.keys(config.identities).length === 0 && !config.email_lookup) log.warn('slack: dm_approvers is on but no approver can be found: set slack.identities or slack.email_lookup');
  const api: SlackApi = createSlackApi({ token: config.bot_token!, apiUrl: deps.slackApiUrl, retry: deps.retry, logger: log, metrics: deps.metrics });
  const refs = new SlackRefs(deps.store);
  const failed = () => deps.metrics?.channelDeliveryFailures.inc({ channel: 'slack' });
  // Series exist from the start at 0, so rate() and increase() see the first failure.
  deps.metrics?.channelDeliveryFailures.inc({ channel: 'slack' }, 0);
  const ctx: MessageContext = { publicUrl: deps.publicUrl, redactLiterals: deps.redactLiterals ?? false };
  const work = new Set<Promise<void>>();

  let known: Workspace | null = null;
  let asking: Promise<Workspace | null> | null = null;
  let lastFailure = 0;
  /** The bot's workspace (auth.test), asked once and remembered; null while Slack has not answered. */
  function workspace(): Promise<Workspace | null> {
    if (known) return Promise.resolve(known);
    if (asking) return asking;
    if (Date.now() - lastFailure < WORKSPACE_RETRY_MS) return Promise.resolve(null);
    asking = api.authTest().then(
      (ws) => {
        known = ws;
        log.info({ team_id: ws.teamId, bot_user_id: ws.botUserId }, 'slack: bot token accepted');
        return ws;
      },
      (err: unknown) => {
        lastFailure = Date.now();
        failed();
        const code = slackErrorCode(err);
        log.error({ err: code }, code === 'invalid_auth' || code === 'not_authed' ? 'slack: the bot token was rejected (check slack.bot_token)' : 'slack: auth.test failed');
        return null;
      },
    );
    void asking.finally(() => (asking = null));
    return asking;
  }

  function tracked(p: Promise<void>): Promise<void> {
    work.add(p);
    void p.finally(() => work.delete(p));
    return p;
  }

  function background(what: string, task: () => Promise<void>): void {
    void tracked(task().catch((err: unknown) => log.error({ err: (err as Error).message, what }, 'slack: background work failed')));
  }

  const identities = new SlackIdentities({ identities: config.identities, emailLookup: config.email_lookup, api, refs, workspace, logger: log });
  const flow = createDecisionFlow({ store: deps.store, decide: deps.decide, api, identities, publicUrl: deps.publicUrl, redactLiterals: ctx.redactLiterals, logger: log });
  const handleInteraction = createInteractionHandler({
    signingSecret: config.signing_secret!.reveal(),
    refs,
    flow,
    workspace: () => {
      if (!known) void workspace();
      return known;
    },
    background,
    logger: log,
    metrics: deps.metrics,
    ...(deps.now ? { now: deps.now } : {}),
  });

  async function put(copy: MessageCopy, request: ApprovalRequest): Promise<void> {
    try {
      await api.update(copy.channel, copy.ts, requestMessage(request, ctx));
    } catch (err) {
      failed();
      log.error({ request_id: request.id, slack_channel: copy.channel, status: request.status, err: slackErrorCode(err) }, 'slack: updating a message failed');
    }
  }

  async function requested(request: ApprovalRequest): Promise<void> {
    let targets: string[];
    try {
      targets = await conversationsFor(request, { routes: config.channels, dmApprovers: config.dm_approvers, api, identities, refs, logger: log, failed });
    } catch (err) {
      failed();
      log.error({ request_id: request.id, err: (err as Error).message }, 'slack: could not work out where to post');
      return;
    }
    if (targets.length === 0) {
      log.warn({ request_id: request.id, rule: request.rule }, 'slack: no channel or approver to post this request to');
      return;
    }
    const message = requestMessage(request, ctx);
    const ttl = Math.max(0, Date.parse(request.expiresAt) - Date.now()) + COPY_RETENTION_MS;
    await Promise.all(
      targets.map(async (channel) => {
        let copy: MessageCopy;
        try {
          copy = await api.postMessage(channel, message);
        } catch (err) {
          failed();
          log.error({ request_id: request.id, slack_channel: channel, err: slackErrorCode(err) }, 'slack: posting the approval message failed; the console and other channels still have the request');
          return;
        }
        try {
          await refs.saveCopy(request.id, copy, ttl);
          // A decision can land while we were posting; updated() may have run before this copy was recorded.
          const now = await deps.store.get(request.id);
          if (now && now.status !== 'pending') await put(copy, now);
        } catch (err) {
          failed();
          log.error({ request_id: request.id, slack_channel: channel, err: (err as Error).message }, 'slack: could not record the posted message; it will not be updated');
        }
      }),
    );
  }

  /** Per request, one update at a time, always with the latest state: a slow update never overwrites a newer one. */
  const updating = new Map<string, { latest: ApprovalRequest; done: Promise<void> }>();
  function updated(request: ApprovalRequest): Promise<void> {
    const running = updating.get(request.id);
    if (running) {
      if (rank(request) >= rank(running.latest)) running.latest = request;
      return running.done;
    }
    const entry = { latest: request, done: Promise.resolve() };
    updating.set(request.id, entry);
    entry.done = (async () => {
      try {
        let sent: ApprovalRequest | null = null;
        while (sent !== entry.latest) {
          sent = entry.latest;
          let copies: MessageCopy[];
          try {
            copies = await refs.copies(sent.id);
          } catch (err) {
            failed();
            log.error({ request_id: sent.id, err: (err as Error).message }, 'slack: could not read the message references');
            return;
          }
          await Promise.all(copies.map((copy) => put(copy, sent!)));
        }
      } finally {
        updating.delete(request.id);
      }
    })();
    return entry.done;
  }

  void workspace();

  return {
    name: 'slack',
    actionsEndpoint: ACTIONS_ENDPOINT,
    requested: (request) => tracked(requested(request)),
    updated,
    handleInteraction,
    async close(): Promise<void> {
      // Final updates (requests withdrawn at shutdown) get a moment to reach Slack; then retries stop.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...work, ...[...updating.values()].map((u) => u.done)]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, CLOSE_GRACE_MS);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
      api.close();
    },
  };
}
