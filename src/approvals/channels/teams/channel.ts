// The Microsoft Teams approval channel: posts cards, keeps every copy current, and turns Approve / Deny clicks into decisions.
import type { CloudEnvironment, TokenProvider, Activity, IMessageActivityInput } from '@microsoft/teams.api';
import type { App, IActivityContext } from '@microsoft/teams.apps';
import type { Logger } from 'pino';
import type { Config } from '../../../config.js';
import { ConfigError } from '../../../errors.js';
import type { Metrics } from '../../../metrics.js';
import type { ApprovalRequest } from '../../request.js';
import type { DecideInput, DecideResult, PendingStore } from '../../store.js';
import type { ApprovalChannel } from '../channel.js';
import { createTeamsBot, MESSAGING_ENDPOINT, precheckInbound, type TeamsBot } from './bot.js';
import { cloudEnvironment, defaultServiceUrl as cloudServiceUrl } from './cloud.js';
import { currentCard, type CardContext } from './card.js';
import { TeamsIdentities } from './identity.js';
import { TeamsRefs, type CardCopy } from './refs.js';
import { handleCardAction } from './actions.js';

/** Card copies outlive their request by this long, so late updates (an expiry seen after a restart) still find them. */
const COPY_RETENTION_MS = 7 * 24 * 3_600_000;

export interface TeamsChannelDeps {
  readonly config: Config['teams'];
  readonly store: PendingStore;
  /** The approval service's decide: every channel decides through the same path. */
  readonly decide: (input: DecideInput) => Promise<DecideResult>;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
  /** Base URL of the console, linked from cards. */
  readonly publicUrl: string;
  /** Show only normalized statements (audit.redact_literals). */
  readonly redactLiterals?: boolean | undefined;
  /** Test seam: a cloud whose openIdMetadataUrl / tokenIssuer point at a local JWKS server. */
  readonly cloud?: CloudEnvironment | undefined;
  /** Test seam: the Bot Connector base URL for the configured channel (otherwise config, then the captured reference). */
  readonly serviceUrl?: string | undefined;
  /** Test seam: outbound token source (Microsoft's MSAL refuses local endpoints). */
  readonly token?: TokenProvider | undefined;
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
  close(): Promise<void>;
}

function conversationKey(activity: Activity): string {
  const channelId = (activity.channelData as { channel?: { id?: string } } | undefined)?.channel?.id;
  // A channel thread's id is "<channel>;messageid=<root>": the channel itself is where new cards go.
  return channelId ?? activity.conversation.id.split(';')[0]!;
}

function activityTenant(activity: Activity): string | undefined {
  return (activity.channelData as { tenant?: { id?: string } } | undefined)?.tenant?.id ?? activity.conversation?.tenantId;
}

export function createTeamsChannel(deps: TeamsChannelDeps): TeamsChannel {
  const { config, logger } = deps;
  const log = logger.child({ channel: 'teams' });
  if (config.auth && !config.app_id) {
    throw new ConfigError('teams.app_id is empty: set it (or PGWARDEN_TEAMS_APP_ID) to the Azure Bot app id, or set teams.auth: false for local development only');
  }
  if (!config.auth) log.warn('teams.auth is false: /api/messages accepts activities without a Bot Framework token; use this only for local development');
  const cloud = deps.cloud ?? cloudEnvironment(config.cloud);
  const configuredServiceUrl = deps.serviceUrl ?? config.service_url ?? cloudServiceUrl(config.cloud);
  if (!configuredServiceUrl) throw new ConfigError(`teams.service_url is required for teams.cloud: ${config.cloud} (Microsoft publishes no default Bot Connector URL there); copy the serviceUrl of an activity the bot received`);
  const defaultServiceUrl = configuredServiceUrl.replace(/\/+$/, '');
  const bot: TeamsBot = createTeamsBot({
    appId: config.app_id,
    appPassword: config.app_password,
    tenantId: config.tenant_id,
    auth: config.auth,
    cloud,
    serviceUrl: defaultServiceUrl,
    token: deps.token,
    logger: log,
  });
  const refs = new TeamsRefs(deps.store);
  const identities = new TeamsIdentities(config.identities);
  const failed = () => deps.metrics?.channelDeliveryFailures.inc({ channel: 'teams' });
  const api = (serviceUrl: string) => bot.app.api.clone({ serviceUrl });

  /** MRIs of the request's approvers, for refresh.userIds: the "29:" ids the bot has seen, then "8:orgid:<aad>" for the rest. */
  async function refreshUserIds(request: ApprovalRequest): Promise<string[]> {
    const aadIds = new Set(identities.aadIdsFor(request.approvers));
    const upns = new Set(identities.upnsFor(request.approvers));
    const ids: string[] = [];
    for (const user of await refs.users()) {
      if (aadIds.has(user.aad_object_id.toLowerCase()) || (user.upn && upns.has(user.upn.toLowerCase()))) {
        ids.push(user.id);
        aadIds.add(user.aad_object_id.toLowerCase());
      }
    }
    for (const aad of aadIds) ids.push(`8:orgid:${aad}`);
    return [...new Set(ids)];
  }

  async function cardContext(request: ApprovalRequest): Promise<CardContext> {
    return { publicUrl: deps.publicUrl, refreshUserIds: await refreshUserIds(request), redactLiterals: deps.redactLiterals ?? false };
  }

  function message(card: object, summary: string): IMessageActivityInput {
    return {
      type: 'message',
      summary,
      attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }],
    } as unknown as IMessageActivityInput;
  }

  /** Conversations a new request's card goes to: the configured channel, and each approver's personal chat when enabled. */
  async function targets(request: ApprovalRequest): Promise<{ conversationId: string; serviceUrl: string }[]> {
    const out = new Map<string, string>();
    if (config.conversation_id) {
      const ref = await refs.conversation(config.conversation_id);
      out.set(config.conversation_id, config.service_url ?? ref?.service_url ?? defaultServiceUrl);
    }
    if (config.personal_chats) {
      const aadIds = new Set(identities.aadIdsFor(request.approvers));
      const upns = new Set(identities.upnsFor(request.approvers));
      for (const user of await refs.users()) {
        const wanted = aadIds.has(user.aad_object_id.toLowerCase()) || (user.upn !== undefined && upns.has(user.upn.toLowerCase()));
        if (!wanted) continue;
        aadIds.delete(user.aad_object_id.toLowerCase());
        let conversationId = user.personal_conversation_id;
        if (!conversationId) {
          try {
            // Proactive 1:1 chat: allowed once the app is installed for the user (the bot has seen them).
            const created = await api(user.service_url).conversations.create({
              members: [{ id: user.id, name: user.name ?? '', role: 'user' }],
              tenantId: user.tenant_id ?? config.tenant_id,
              isGroup: false,
              bot: { id: config.app_id, name: 'pgwarden', role: 'bot' },
            } as never);
            conversationId = created.id;
            await refs.saveUser({ ...user, personal_conversation_id: conversationId });
          } catch (err) {
            failed();
            log.warn({ err: (err as Error).message, request_id: request.id }, 'teams: could not open a personal chat with an approver');
            continue;
          }
        }
        out.set(conversationId, user.service_url);
      }
      for (const aad of aadIds) {
        log.info({ request_id: request.id, aad_object_id: aad }, 'teams: no personal chat with this approver yet: they must install the pgwarden app or message the bot once');
      }
    }
    return [...out].map(([conversationId, serviceUrl]) => ({ conversationId, serviceUrl }));
  }

  async function putCard(copy: CardCopy, request: ApprovalRequest): Promise<void> {
    const card = currentCard(request, await cardContext(request));
    await api(copy.service_url).conversations.activities(copy.conversation_id).update(copy.activity_id, message(card, summaryOf(request)));
  }

  function summaryOf(request: ApprovalRequest): string {
    return request.status === 'pending' ? `Approval needed: ${request.categories.join(', ')} on ${request.database}` : `Request ${request.id}: ${request.status}`;
  }

  async function requested(request: ApprovalRequest): Promise<void> {
    let sendTo: { conversationId: string; serviceUrl: string }[];
    try {
      sendTo = await targets(request);
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
          const sent = await api(target.serviceUrl).conversations.activities(target.conversationId).create(message(card, summaryOf(request)));
          const copy: CardCopy = { conversation_id: target.conversationId, activity_id: sent.id, service_url: target.serviceUrl };
          await refs.saveCopy(request.id, copy, ttl);
          // A decision can land while we were posting; updated() may have run before this copy was recorded.
          const now = await deps.store.get(request.id);
          if (now && now.status !== 'pending') await putCard(copy, now);
        } catch (err) {
          failed();
          log.error({ err: (err as Error).message, request_id: request.id, conversation_id: target.conversationId }, 'teams: posting the approval card failed');
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
          log.error({ err: (err as Error).message, request_id: request.id, conversation_id: copy.conversation_id }, 'teams: updating a card failed');
        }
      }),
    );
  }

  /** Remembers where the bot can talk and who it talked to: install, channel messages, personal chats, clicks. */
  async function capture(activity: Activity): Promise<void> {
    if (!activity.conversation?.id || !activity.serviceUrl) return;
    const type = activity.conversation.conversationType ?? 'personal';
    const tenant = activityTenant(activity);
    const conversationId = type === 'personal' ? activity.conversation.id : conversationKey(activity);
    const from = activity.from;
    const ref = {
      conversation_id: conversationId,
      service_url: activity.serviceUrl.replace(/\/+$/, ''),
      conversation_type: type,
      tenant_id: tenant,
      user_aad_object_id: type === 'personal' ? from?.aadObjectId : undefined,
    };
    const before = await refs.conversation(conversationId);
    if (!before || before.service_url !== ref.service_url || before.tenant_id !== ref.tenant_id) {
      await refs.saveConversation({ ...ref, captured_at: new Date().toISOString() });
      log.info({ conversation_id: conversationId, conversation_type: type }, 'teams: conversation reference stored');
    }
    if (from?.aadObjectId && from.role !== 'bot') {
      await refs.saveUser({
        id: from.id,
        aad_object_id: from.aadObjectId,
        name: from.name,
        service_url: ref.service_url,
        tenant_id: tenant,
        personal_conversation_id: type === 'personal' ? activity.conversation.id : undefined,
      });
    }
  }

  bot.app.use(async (ctx: IActivityContext) => {
    const activity = ctx.activity;
    const tenant = activityTenant(activity);
    // Another organisation's tenant can install a sideloaded copy: never post there or act on its clicks.
    const foreignTenant = Boolean(config.tenant_id && tenant && tenant.toLowerCase() !== config.tenant_id.toLowerCase());
    if (!foreignTenant) {
      try {
        await capture(activity);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'teams: could not store the conversation reference');
      }
    }
    if (activity.type === 'invoke' && activity.name === 'adaptiveCard/action') {
      return handleCardAction(ctx, {
        store: deps.store,
        decide: deps.decide,
        identities,
        refs,
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

