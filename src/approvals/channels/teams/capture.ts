// What an inbound activity teaches the bot: where it can post (conversation references, with team and channel names
// for the console) and who it has seen. Logs the conversation id to configure when the bot lands somewhere new.
import type { Activity } from '@microsoft/teams.api';
import type { Logger } from 'pino';
import type { TeamsRefs } from './refs.js';

interface ChannelData {
  readonly tenant?: { id?: string };
  readonly team?: { id?: string; name?: string };
  readonly channel?: { id?: string; name?: string };
}

const channelData = (activity: Activity): ChannelData => (activity.channelData as ChannelData | undefined) ?? {};

/** The conversation new cards go to: a channel thread's id is "<channel>;messageid=<root>", the channel itself is the target. */
export function conversationKey(activity: Activity): string {
  return channelData(activity).channel?.id ?? activity.conversation.id.split(';')[0]!;
}

export function activityTenant(activity: Activity): string | undefined {
  return channelData(activity).tenant?.id ?? activity.conversation?.tenantId;
}

/** Stores the activity's conversation reference and sender; logs the id to put in teams.conversation_id when the bot is new there. */
export async function captureActivity(activity: Activity, refs: TeamsRefs, log: Logger, configuredConversationId: string | undefined): Promise<void> {
  if (!activity.conversation?.id || !activity.serviceUrl) return;
  const type = activity.conversation.conversationType ?? 'personal';
  const tenant = activityTenant(activity);
  const conversationId = type === 'personal' ? activity.conversation.id : conversationKey(activity);
  const from = activity.from;
  const data = channelData(activity);
  const before = await refs.conversation(conversationId);
  const ref = {
    conversation_id: conversationId,
    service_url: activity.serviceUrl.replace(/\/+$/, ''),
    conversation_type: type,
    tenant_id: tenant,
    user_aad_object_id: type === 'personal' ? from?.aadObjectId : undefined,
    // Names arrive with installs and channel events only; keep the ones seen before.
    team_name: data.team?.name ?? before?.team_name,
    channel_name: data.channel?.name ?? before?.channel_name,
  };
  const changed = !before || before.service_url !== ref.service_url || before.tenant_id !== ref.tenant_id || before.team_name !== ref.team_name || before.channel_name !== ref.channel_name;
  if (changed) {
    await refs.saveConversation({ ...ref, captured_at: new Date().toISOString() });
    const where = ref.team_name ? `${ref.team_name}${ref.channel_name ? ` › ${ref.channel_name}` : ''}` : undefined;
    log.info({ conversation_id: conversationId, conversation_type: type, ...(where ? { where } : {}) }, 'teams: conversation reference stored');
    if (!before && type !== 'personal' && conversationId !== configuredConversationId) {
      log.warn(
        { conversation_id: conversationId, conversation_type: type, ...(where ? { where } : {}) },
        `teams: the bot was added to a ${type}${where ? ` (${where})` : ''}; to post approval cards there set teams.conversation_id (PGWARDEN_TEAMS_CONVERSATION_ID) to "${conversationId}"`,
      );
    }
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
