// Slack user → approver identity: explicitly by user id (slack.identities), or by the confirmed profile email when slack.email_lookup is on; and back, approver identity → Slack users to message.
import type { Logger } from 'pino';
import { normalizeIdentity } from '../../identity.js';
import type { SlackApi, SlackUser, Workspace } from './client.js';
import { slackErrorCode } from './client.js';
import type { SlackRefs } from './refs.js';

export type Resolution = { readonly ok: true; readonly identity: string; readonly via: 'config' | 'email' } | { readonly ok: false; readonly why: string };

export interface SlackIdentityDeps {
  /** slack.identities: Slack user id → approver identity. */
  readonly identities: Readonly<Record<string, string>>;
  readonly emailLookup: boolean;
  readonly api: SlackApi;
  readonly refs: SlackRefs;
  /** The workspace the bot token belongs to (auth.test), or null while unknown. */
  readonly workspace: () => Promise<Workspace | null>;
  readonly logger: Logger;
}

const NOT_MAPPED = 'your Slack account is not mapped to a pgwarden approver identity; ask a pgwarden administrator to add your member id to slack.identities';

/**
 * Why a Slack profile's email must not stand for an identity, or null when it may. Slack marks an email
 * confirmed (`is_email_confirmed`) once the owner proved it by a link sent to it; guests, bots, deactivated
 * accounts and accounts of other workspaces (Slack Connect) never map by email, only explicitly.
 */
export function emailRefusal(user: SlackUser, workspace: Workspace): string | null {
  if (user.deleted) return 'the Slack account is deactivated';
  if (user.is_bot || user.is_app_user || user.id === 'USLACKBOT') return 'bots and apps are never approvers';
  const sameTeam = user.team_id === workspace.teamId || (workspace.enterpriseId !== null && user.enterprise_user?.enterprise_id === workspace.enterpriseId);
  if (!sameTeam) return "the account belongs to another Slack workspace; map it explicitly in slack.identities if it should approve";
  if (user.is_restricted || user.is_ultra_restricted) return 'guest accounts are not mapped by email; map it explicitly in slack.identities if it should approve';
  if (!user.profile?.email) return 'Slack did not share the profile email (is the users:read.email scope granted?)';
  if (user.is_email_confirmed !== true) return 'the profile email is not confirmed in Slack';
  return null;
}

export class SlackIdentities {
  readonly #byUser = new Map<string, string>();
  /** Normalized identities that slack.identities gives to some user: email lookup never hands them to another one. */
  readonly #explicit = new Map<string, string[]>();

  constructor(private readonly deps: SlackIdentityDeps) {
    for (const [userId, identity] of Object.entries(deps.identities)) {
      this.#byUser.set(userId, identity);
      const key = normalizeIdentity(identity);
      this.#explicit.set(key, [...(this.#explicit.get(key) ?? []), userId]);
    }
  }

  /** The approver identity of the Slack user who clicked, or why there is none. */
  async resolve(userId: string): Promise<Resolution> {
    const explicit = this.#byUser.get(userId);
    if (explicit) return { ok: true, identity: explicit, via: 'config' };
    if (!this.deps.emailLookup) return { ok: false, why: NOT_MAPPED };
    const cached = await this.deps.refs.cachedIdentity(userId);
    if (cached) return cached.identity ? { ok: true, identity: cached.identity, via: 'email' } : { ok: false, why: cached.why ?? NOT_MAPPED };
    const workspace = await this.deps.workspace();
    if (!workspace) return { ok: false, why: 'pgwarden could not confirm its Slack workspace yet (auth.test failed); try again shortly' };
    let user: SlackUser;
    try {
      user = await this.deps.api.userInfo(userId);
    } catch (err) {
      this.deps.logger.warn({ slack_user: userId, err: slackErrorCode(err) }, 'slack: users.info failed; the user is not mapped for this click');
      return { ok: false, why: `pgwarden could not read your Slack profile (${slackErrorCode(err)}); try again shortly` };
    }
    const result = this.#fromProfile(userId, user, workspace);
    await this.deps.refs.saveIdentity(userId, result.ok ? { identity: result.identity } : { identity: null, why: result.why });
    return result;
  }

  #fromProfile(userId: string, user: SlackUser, workspace: Workspace): Resolution {
    if (user.id !== userId) return { ok: false, why: 'Slack answered with another user' };
    const refusal = emailRefusal(user, workspace);
    if (refusal) {
      this.deps.logger.info({ slack_user: userId, why: refusal }, 'slack: user not mapped by email');
      return { ok: false, why: `${refusal}; ${NOT_MAPPED}` };
    }
    const email = user.profile!.email!.trim();
    const owners = this.#explicit.get(normalizeIdentity(email));
    if (owners && !owners.includes(userId)) {
      this.deps.logger.warn({ slack_user: userId, explicit_users: owners }, 'slack: profile email names an identity slack.identities gives to another user; not mapped');
      return { ok: false, why: `the identity ${email} belongs to another Slack account in slack.identities` };
    }
    return { ok: true, identity: email, via: 'email' };
  }

  /** Slack user ids to send a direct message about a request with these approvers: mapped explicitly, or (email_lookup) found by email. */
  async slackUsersFor(approvers: readonly string[]): Promise<string[]> {
    const out = new Set<string>();
    const unmapped: string[] = [];
    for (const approver of approvers) {
      const users = this.#explicit.get(normalizeIdentity(approver));
      if (users) users.forEach((u) => out.add(u));
      else unmapped.push(approver);
    }
    if (this.deps.emailLookup) {
      const workspace = await this.deps.workspace();
      for (const approver of unmapped.filter((a) => a.includes('@'))) {
        const found = await this.#userByEmail(approver, workspace);
        if (found) out.add(found);
      }
    }
    return [...out];
  }

  async #userByEmail(email: string, workspace: Workspace | null): Promise<string | null> {
    const cached = await this.deps.refs.cachedEmailUser(email);
    if (cached) return cached.user;
    if (!workspace) return null;
    let user: SlackUser | null;
    try {
      user = await this.deps.api.lookupByEmail(email);
    } catch (err) {
      this.deps.logger.warn({ err: slackErrorCode(err) }, 'slack: users.lookupByEmail failed; that approver gets no direct message');
      return null;
    }
    // The same checks as a click: a message goes only to the account that would be accepted as this approver.
    const accepted = user && !emailRefusal(user, workspace) && normalizeIdentity(user.profile?.email ?? '') === normalizeIdentity(email) ? user.id : null;
    await this.deps.refs.saveEmailUser(email, accepted);
    return accepted;
  }
}
