// Where a request's message goes: the configured channels that take its rule or approver group, and (slack.dm_approvers) a direct message to each approver found in Slack.
import type { Logger } from 'pino';
import { normalizeIdentity, requesterIdentities } from '../../identity.js';
import type { ApprovalRequest } from '../../request.js';
import { slackErrorCode, type SlackApi } from './client.js';
import type { SlackIdentities } from './identity.js';
import type { SlackRefs } from './refs.js';

/** One entry of slack.channels: a channel id for every request, or one limited to some rules or approver groups. */
export type ChannelRoute = string | { readonly id: string; readonly rules: readonly string[]; readonly groups: readonly string[] };

/** Channel ids whose entry takes this request: no filter, or its rule listed, or one of its approver groups listed. */
export function channelsFor(request: ApprovalRequest, routes: readonly ChannelRoute[]): string[] {
  const out = new Set<string>();
  for (const route of routes) {
    if (typeof route === 'string') {
      out.add(route);
      continue;
    }
    const unfiltered = route.rules.length === 0 && route.groups.length === 0;
    const byRule = request.rule !== null && route.rules.includes(request.rule);
    const byGroup = request.groups.some((g) => route.groups.includes(g));
    if (unfiltered || byRule || byGroup) out.add(route.id);
  }
  return [...out];
}

export interface TargetDeps {
  readonly routes: readonly ChannelRoute[];
  readonly dmApprovers: boolean;
  readonly api: SlackApi;
  readonly identities: SlackIdentities;
  readonly refs: SlackRefs;
  readonly logger: Logger;
  /** Counts a failed Slack call (metrics). */
  readonly failed: () => void;
}

/**
 * Every conversation the request's message goes to. A DM channel is opened once per user (conversations.open)
 * and remembered in the shared store, so a request for many approvers costs one chat.postMessage each.
 */
export async function conversationsFor(request: ApprovalRequest, deps: TargetDeps): Promise<string[]> {
  const out = new Set(channelsFor(request, deps.routes));
  if (!deps.dmApprovers) return [...out];
  // The requester and the agent's owner cannot decide: they are not asked to.
  const excluded = new Set(requesterIdentities(request.actor));
  const users = await deps.identities.slackUsersFor(request.approvers.filter((a) => !excluded.has(normalizeIdentity(a))));
  const channels = await Promise.all(
    users.map(async (user) => {
      try {
        const known = await deps.refs.dmChannel(user);
        if (known) return known;
        const opened = await deps.api.openDm(user);
        await deps.refs.saveDmChannel(user, opened);
        return opened;
      } catch (err) {
        deps.failed();
        deps.logger.error({ request_id: request.id, slack_user: user, err: slackErrorCode(err) }, 'slack: could not open a direct message with an approver');
        return null;
      }
    }),
  );
  for (const c of channels) if (c) out.add(c);
  return [...out];
}
