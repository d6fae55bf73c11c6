// Where a new request's card goes: the configured channel, and (teams.personal_chats) each approver's 1:1 chat with the bot.
import type { Logger } from 'pino';
import type { ApprovalRequest } from '../../request.js';
import type { ConnectorCaller } from './delivery.js';
import type { TeamsIdentities } from './identity.js';
import type { TeamsRefs } from './refs.js';
import type { TeamsRoster } from './roster.js';

export interface Target {
  readonly conversationId: string;
  readonly serviceUrl: string;
}

/** The one SDK call opening a 1:1 chat. */
export type CreateConversation = (serviceUrl: string, params: { members: { id: string; name: string; role: 'user' }[]; tenantId: string; isGroup: false; bot: { id: string; name: string; role: 'bot' } }) => Promise<{ id: string }>;

export interface TargetDeps {
  readonly conversationId?: string | undefined;
  readonly configuredServiceUrl?: string | undefined;
  readonly defaultServiceUrl: string;
  readonly personalChats: boolean;
  readonly appId: string;
  readonly tenantId: string;
  readonly refs: TeamsRefs;
  readonly roster: TeamsRoster;
  readonly identities: TeamsIdentities;
  readonly caller: ConnectorCaller;
  readonly createConversation: CreateConversation;
  readonly onFailure: () => void;
  readonly logger: Logger;
}

export async function cardTargets(request: ApprovalRequest, deps: TargetDeps): Promise<Target[]> {
  const out = new Map<string, string>();
  const log = deps.logger;
  if (deps.conversationId) {
    const ref = await deps.refs.conversation(deps.conversationId);
    out.set(deps.conversationId, deps.configuredServiceUrl ?? ref?.service_url ?? deps.defaultServiceUrl);
  }
  if (!deps.personalChats) return [...out].map(([conversationId, serviceUrl]) => ({ conversationId, serviceUrl }));
  const aadIds = new Set(deps.identities.aadIdsFor(request.approvers));
  const upns = new Set(deps.identities.upnsFor(request.approvers));
  for (const user of await deps.refs.users()) {
    const upn = user.upn ?? (upns.size > 0 ? await deps.roster.cachedUpn(user.aad_object_id) : undefined);
    const wanted = aadIds.has(user.aad_object_id.toLowerCase()) || (upn !== undefined && upns.has(upn.toLowerCase()));
    if (!wanted) continue;
    aadIds.delete(user.aad_object_id.toLowerCase());
    let conversationId = user.personal_conversation_id;
    if (!conversationId) {
      try {
        // Proactive 1:1 chat: allowed once the app is installed for the user (the bot has seen them).
        const created = await deps.caller.run({ conversationId: `create:${user.id}`, what: 'open personal chat', idempotent: false }, () =>
          deps.createConversation(user.service_url, {
            members: [{ id: user.id, name: user.name ?? '', role: 'user' }],
            tenantId: user.tenant_id ?? deps.tenantId,
            isGroup: false,
            bot: { id: deps.appId, name: 'pgwarden', role: 'bot' },
          }),
        );
        conversationId = created.id;
        await deps.refs.saveUser({ ...user, personal_conversation_id: conversationId });
      } catch (err) {
        deps.onFailure();
        log.warn({ err: (err as Error).message, request_id: request.id }, 'teams: could not open a personal chat with an approver');
        continue;
      }
    }
    out.set(conversationId, user.service_url);
  }
  for (const aad of aadIds) {
    log.info({ request_id: request.id, aad_object_id: aad }, 'teams: no personal chat with this approver yet: they must install the pgwarden app or message the bot once');
  }
  return [...out].map(([conversationId, serviceUrl]) => ({ conversationId, serviceUrl }));
}
