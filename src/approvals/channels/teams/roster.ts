// Who is who in a Teams conversation: the member roster (29: ids, Entra object ids, UPNs) and single UPN lookups,
// both from the Bot Connector and cached in the shared store for teams.lookup_ttl, never longer.
import type { TeamsChannelAccount } from '@microsoft/teams.api';
import type { Logger } from 'pino';
import type { PendingStore } from '../../store.js';
import type { TeamsIdentities } from './identity.js';

const NS_UPN = 'teams.upn';
const rosterNamespace = 'teams.roster';
/** Members per page (the Bot Connector allows 50 … 500). */
const PAGE_SIZE = 500;
/** Pages read at most: 10,000 members. A larger team still works through refs of users the bot has seen. */
const MAX_PAGES = 20;

/** One member as the roster lists it. The e-mail is deliberately not kept: it is not an identity (anyone can be given any address). */
export interface RosterMember {
  /** Bot Framework user id ("29:…"): what refresh.userIds needs. */
  readonly id: string;
  readonly aad_object_id?: string | undefined;
  readonly upn?: string | undefined;
}

/** The parts of the SDK's conversation client the roster uses. */
export interface MembersApi {
  getPagedMembers(conversationId: string, pageSize?: number, continuationToken?: string): Promise<{ members: TeamsChannelAccount[]; continuationToken?: string }>;
  getMemberById(conversationId: string, id: string): Promise<TeamsChannelAccount>;
}

export interface RosterDeps {
  readonly store: PendingStore;
  /** teams.lookup_ttl. */
  readonly ttlMs: number;
  readonly logger: Logger;
}

function toMember(a: TeamsChannelAccount): RosterMember {
  const account = a as TeamsChannelAccount & { userPrincipalName?: string; aadObjectId?: string };
  return { id: account.id, aad_object_id: account.aadObjectId?.toLowerCase(), upn: account.userPrincipalName?.toLowerCase() };
}

export class TeamsRoster {
  constructor(private readonly deps: RosterDeps) {}

  /** The conversation's members: from the store while fresh, else paged from the Bot Connector (then stored for ttl). */
  async members(conversationId: string, api: MembersApi): Promise<RosterMember[]> {
    const cached = await this.deps.store.kvGet(rosterNamespace, conversationId);
    if (cached !== null) {
      try {
        return JSON.parse(cached) as RosterMember[];
      } catch {
        // fall through: fetch again
      }
    }
    const members: RosterMember[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await api.getPagedMembers(conversationId, PAGE_SIZE, token);
      members.push(...res.members.map(toMember));
      token = res.continuationToken;
      if (!token) break;
    }
    if (token) this.deps.logger.warn({ conversation_id: conversationId, members: members.length }, 'teams: roster larger than pgwarden reads; approvers beyond it are found once the bot has seen them');
    await this.deps.store.kvSet(rosterNamespace, conversationId, JSON.stringify(members), this.deps.ttlMs);
    return members;
  }

  /** A UPN looked up earlier and still fresh (no call to the Bot Connector). */
  async cachedUpn(aadObjectId: string): Promise<string | undefined> {
    const cached = await this.deps.store.kvGet(NS_UPN, aadObjectId.toLowerCase());
    return cached === null || cached === '' ? undefined : cached;
  }

  /**
   * The user's UPN as the conversation roster states it (userPrincipalName only: an e-mail address is not an identity),
   * remembered for ttl so a renamed or removed user stops matching within that time. Undefined when the roster has none.
   */
  async upnOf(conversationId: string, userId: string, aadObjectId: string, api: MembersApi): Promise<string | undefined> {
    const key = aadObjectId.toLowerCase();
    const cached = await this.deps.store.kvGet(NS_UPN, key);
    if (cached !== null) return cached === '' ? undefined : cached;
    const member = toMember(await api.getMemberById(conversationId, userId));
    // An empty value records "looked up, no UPN" for the same ttl, so a user without one does not cost a call per click.
    await this.deps.store.kvSet(NS_UPN, key, member.upn ?? '', this.deps.ttlMs);
    return member.upn;
  }

}

/**
 * The approvers' "29:" ids for refresh.userIds: roster members (and users the bot has seen) whose Entra object id or UPN
 * teams.identities maps to one of the request's approvers, without duplicates, in roster order.
 */
export function approverUserIds(
  approvers: readonly string[],
  identities: TeamsIdentities,
  candidates: readonly RosterMember[],
): string[] {
  const aadIds = new Set(identities.aadIdsFor(approvers));
  const upns = new Set(identities.upnsFor(approvers));
  const ids = new Set<string>();
  for (const m of candidates) {
    const hit = (m.aad_object_id !== undefined && aadIds.has(m.aad_object_id)) || (m.upn !== undefined && upns.has(m.upn));
    if (hit && m.id.startsWith('29:')) ids.add(m.id);
  }
  return [...ids];
}
