// The Microsoft Teams approval channel: posts cards, keeps every copy current, and turns Approve / Deny clicks into decisions.
import type { CloudEnvironment, TokenProvider, IMessageActivityInput } from '@microsoft/teams.api';
import type { App, IActivityContext } from '@microsoft/teams.apps';
import type { Config } from '../../../config.js';
import { ConfigError } from '../../../errors.js';
import type { ApprovalRequest } from '../../request.js';
import type { ApprovalChannel, InteractiveChannelDeps } from '../channel.js';
import { createTeamsBot, MESSAGING_ENDPOINT, precheckInbound, type TeamsBot } from './bot.js';
import { cloudEnvironment, defaultServiceUrl as cloudServiceUrl } from './cloud.js';
import { currentCard, type CardContext } from './card.js';
import { TeamsIdentities } from './identity.js';
import { TeamsRefs, type CardCopy } from './refs.js';
import { handleCardAction } from './actions.js';
import { activityTenant, captureActivity } from './capture.js';
import { teamsCredentials } from './credentials.js';
import { ConnectorCaller, statusOf, type RetryPolicy } from './delivery.js';
import { approverUserIds, TeamsRoster, type RosterMember } from './roster.js';
import { cardTargets, type Target } from './targets.js';

/** Card copies outlive their request by this long, so late updates (an expiry seen after a restart) still find them. */
const COPY_RETENTION_MS = 7 * 24 * 3_600_000;

export interface TeamsChannelDeps extends InteractiveChannelDeps {
  readonly config: Config['teams'];
  /** Test seam: a cloud whose openIdMetadataUrl / tokenIssuer point at a local JWKS server. */
  readonly cloud?: CloudEnvironment | undefined;
  /** Test seam: the Bot Connector base URL for the configured channel (otherwise config, then the captured reference). */
  readonly serviceUrl?: string | undefined;
  /** Test seam: outbound token source (Microsoft's MSAL refuses local endpoints). */
  readonly token?: TokenProvider | undefined;
  /** Test seam: shorter retry delays. */
  readonly retry?: Partial<RetryPolicy> | undefined;
}

/** A conversation the bot was added to or heard from, for the console ("set teams.conversation_id to …"). */
export interface KnownConversation {
  readonly conversation_id: string;
  readonly conversation_type: string;
  readonly team_name?: string | undefined;
  readonly channel_name?: string | undefined;
  readonly captured_at: string;
  /** This is teams.conversation_id: cards go here. */
  readonly configured: boolean;
}

export interface InboundRequest {
  readonly body: unknown;
  readonly headers: Record<string, string | string[] | undefined>;
}

export interface InboundResponse {
  readonly status: number;
  readonly body?: unknown;
}

export interface TeamsChannel extends ApprovalChannel {
  /** Path of the Bot Framework messaging endpoint (app.ts mounts handleActivity there). */
  readonly messagingEndpoint: string;
  /** One inbound Bot Framework activity (already read and parsed): authentication, then the bot. */
  handleActivity(request: InboundRequest): Promise<InboundResponse>;
  /** The underlying Teams SDK app (for tests and diagnostics). */
  readonly app: App;
  /** teams.conversation_id, when set. */
  readonly configuredConversationId: string | undefined;
  /** Channels and group chats the bot knows (personal chats are left out: they identify people). */
  knownConversations(): Promise<KnownConversation[]>;
  close(): Promise<void>;
}

export function createTeamsChannel(deps: TeamsChannelDeps): TeamsChannel {
  const { config, logger } = deps;
  const log = logger.child({ channel: 'teams' });
  if (config.auth && !config.app_id) {
    throw new ConfigError('teams.app_id is empty: set it (or PGWARDEN_TEAMS_APP_ID) to the Azure Bot app id, or set teams.auth: false for local development only');
  }
  // Fails fast with every credential problem at once; a test token provider stands in for the credential itself.
  const credentials = teamsCredentials(config, { tokenProvided: deps.token !== undefined });
  if (!config.auth) log.warn('teams.auth is false: /api/messages accepts activities without a Bot Framework token; use this only for local development');
  if (!config.conversation_id && !config.personal_chats) {
    log.warn('teams is enabled but has nowhere to post approval cards: set teams.conversation_id (PGWARDEN_TEAMS_CONVERSATION_ID; pgwarden logs the id, and the console shows it, once the bot is added to a channel) or teams.personal_chats: true');
  }
  const cloud = deps.cloud ?? cloudEnvironment(config.cloud);
  const configuredServiceUrl = deps.serviceUrl ?? config.service_url ?? cloudServiceUrl(config.cloud);
  if (!configuredServiceUrl) throw new ConfigError(`teams.service_url is required for teams.cloud: ${config.cloud} (Microsoft publishes no default Bot Connector URL there); copy the serviceUrl of an activity the bot received`);
  const defaultServiceUrl = configuredServiceUrl.replace(/\/+$/, '');
  const bot: TeamsBot = createTeamsBot({
    appId: config.app_id,
    credentials,
    tenantId: config.tenant_id!,
    auth: config.auth,
    cloud,
    serviceUrl: defaultServiceUrl,
    token: deps.token,
    logger: log,
  });
  const refs = new TeamsRefs(deps.store);
  const identities = new TeamsIdentities(config.identities);
  const roster = new TeamsRoster({ store: deps.store, ttlMs: config.lookup_ttl, logger: log });
  const failed = () => deps.metrics?.channelDeliveryFailures.inc({ channel: 'teams' });
  const api = (serviceUrl: string) => bot.app.api.clone({ serviceUrl });
  const caller = new ConnectorCaller({
    policy: deps.retry,
    onFailure: (status) => deps.metrics?.teamsApiFailures.inc({ status }),
    onRetry: (info) => log.warn(info, 'teams: Bot Connector call failed; retrying'),
  });

  /**
   * The approvers' "29:" ids for refresh.userIds: members of the configured conversation's roster, then users the bot
   * has seen, whose Entra object id or UPN teams.identities maps to an approver; without duplicates.
   */
  async function refreshUserIds(request: ApprovalRequest): Promise<string[]> {
    const candidates: RosterMember[] = [];
    if (config.conversation_id) {
      const ref = await refs.conversation(config.conversation_id);
      const serviceUrl = config.service_url ?? ref?.service_url ?? defaultServiceUrl;
      try {
        const conversations = api(serviceUrl).conversations;
        const conversationId = config.conversation_id;
        // In the conversation's queue like every other call: retried when throttled, and fetched once when cards race.
        candidates.push(...(await caller.run({ conversationId, what: 'read roster', idempotent: true }, () => roster.members(conversationId, conversations))));
      } catch (err) {
        log.warn({ err: (err as Error).message, conversation_id: config.conversation_id }, 'teams: could not read the conversation roster; approvers the bot has not seen yet use "Refresh card"');
      }
    }
    for (const user of await refs.users()) {
      candidates.push({ id: user.id, aad_object_id: user.aad_object_id.toLowerCase(), upn: (user.upn ?? (await roster.cachedUpn(user.aad_object_id)))?.toLowerCase() });
    }
    return approverUserIds(request.approvers, identities, candidates);
  }

  async function cardContext(request: ApprovalRequest): Promise<CardContext> {
    return { publicUrl: deps.publicUrl, refreshUserIds: request.status === 'pending' ? await refreshUserIds(request) : [], redactLiterals: deps.redactLiterals ?? false };
  }

  function message(card: object, summary: string): IMessageActivityInput {
    return {
      type: 'message',
      summary,
      attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }],
    } as unknown as IMessageActivityInput;
  }

  function summaryOf(request: ApprovalRequest): string {
    return request.status === 'pending' ? `Approval needed: ${request.categories.join(', ')} on ${request.database}` : `Request ${request.id}: ${request.status}`;
  }

  async function putCard(copy: CardCopy, request: ApprovalRequest): Promise<void> {
    const card = currentCard(request, await cardContext(request));
    await caller.run({ conversationId: copy.conversation_id, what: 'update card', idempotent: true }, () =>
      api(copy.service_url).conversations.activities(copy.conversation_id).update(copy.activity_id, message(card, summaryOf(request))),
    );
  }

  async function requested(request: ApprovalRequest): Promise<void> {
    let sendTo: Target[];
    try {
      sendTo = await cardTargets(request, {
        conversationId: config.conversation_id,
        configuredServiceUrl: config.service_url,
        defaultServiceUrl,
        personalChats: config.personal_chats,
        appId: config.app_id,
        tenantId: config.tenant_id!,
        refs,
        roster,
        identities,
        caller,
        createConversation: (serviceUrl, params) => api(serviceUrl).conversations.create(params as never),
        onFailure: failed,
        logger: log,
      });
    } catch (err) {
      failed();
      log.error({ err: (err as Error).message, request_id: request.id }, 'teams: could not resolve where to post the card');
      return;
    }
    if (sendTo.length === 0) {
      log.warn({ request_id: request.id }, 'teams: nowhere to post the card: set teams.conversation_id or enable teams.personal_chats after approvers installed the app');
      return;
    }
    const card = currentCard(request, await cardContext(request));
    const ttl = Math.max(0, Date.parse(request.expiresAt) - Date.now()) + COPY_RETENTION_MS;
    await Promise.all(
      sendTo.map(async (target) => {
        try {
          const sent = await caller.run({ conversationId: target.conversationId, what: 'post card', idempotent: false }, () =>
            api(target.serviceUrl).conversations.activities(target.conversationId).create(message(card, summaryOf(request))),
          );
          const copy: CardCopy = { conversation_id: target.conversationId, activity_id: sent.id, service_url: target.serviceUrl };
          await refs.saveCopy(request.id, copy, ttl);
          // A decision can land while we were posting; updated() may have run before this copy was recorded.
          const now = await deps.store.get(request.id);
          if (now && now.status !== 'pending') await putCard(copy, now);
        } catch (err) {
          failed();
          log.error({ err: (err as Error).message, status: statusOf(err), request_id: request.id, conversation_id: target.conversationId }, 'teams: posting the approval card failed');
        }
      }),
    );
  }

  async function updated(request: ApprovalRequest): Promise<void> {
    let copies: CardCopy[];
    try {
      copies = await refs.copies(request.id);
    } catch (err) {
      failed();
      log.error({ err: (err as Error).message, request_id: request.id }, 'teams: could not read the card copies');
      return;
    }
    await Promise.all(
      copies.map(async (copy) => {
        try {
          await putCard(copy, request);
        } catch (err) {
          failed();
          log.error({ err: (err as Error).message, status: statusOf(err), request_id: request.id, conversation_id: copy.conversation_id }, 'teams: updating a card failed');
        }
      }),
    );
  }

  bot.app.use(async (ctx: IActivityContext) => {
    const activity = ctx.activity;
    const tenant = activityTenant(activity);
    // Another organisation's tenant can install a sideloaded copy: never post there or act on its clicks.
    const foreignTenant = Boolean(config.tenant_id && tenant && tenant.toLowerCase() !== config.tenant_id.toLowerCase());
    if (!foreignTenant) {
      try {
        await captureActivity(activity, refs, log, config.conversation_id);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'teams: could not store the conversation reference');
      }
    }
    if (activity.type === 'invoke' && activity.name === 'adaptiveCard/action') {
      return handleCardAction(ctx, {
        store: deps.store,
        decide: deps.decide,
        identities,
        roster,
        cardContext,
        logger: log,
        foreignTenant,
      });
    }
    if (activity.type === 'message' && activity.conversation.conversationType === 'personal' && !foreignTenant) {
      const who = identities.resolve({ aadObjectId: activity.from.aadObjectId });
      await ctx.send(
        who
          ? `pgwarden will post approval cards for ${who} here when personal chats are enabled.`
          : 'This account is not mapped to a pgwarden approver identity. Ask your pgwarden administrator to add your Azure AD object id to teams.identities.',
      );
    }
    return undefined;
  });

  return {
    name: 'teams',
    app: bot.app,
    requested,
    updated,
    configuredConversationId: config.conversation_id,
    async knownConversations(): Promise<KnownConversation[]> {
      const all = await refs.conversations();
      return all
        .filter((c) => c.conversation_type !== 'personal')
        .map((c) => ({
          conversation_id: c.conversation_id,
          conversation_type: c.conversation_type,
          team_name: c.team_name,
          channel_name: c.channel_name,
          captured_at: c.captured_at,
          configured: c.conversation_id === config.conversation_id,
        }))
        .sort((a, b) => b.captured_at.localeCompare(a.captured_at));
    },
    async handleActivity(request: InboundRequest): Promise<InboundResponse> {
      if (config.auth) {
        const refusal = precheckInbound(request.headers, request.body, cloud);
        if (refusal) {
          log.warn({ reason: refusal }, 'teams: inbound activity rejected');
          return { status: 401, body: { error: 'unauthorized' } };
        }
      }
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(request.headers)) if (v !== undefined) headers[k.toLowerCase()] = v;
      const res = await bot.handle({ body: request.body, headers });
      return { status: res.status, body: res.body };
    },
    messagingEndpoint: MESSAGING_ENDPOINT,
    async close(): Promise<void> {
      await bot.ready.catch(() => undefined);
    },
  };
}
