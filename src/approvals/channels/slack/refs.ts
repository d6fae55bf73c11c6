// Slack state in the PendingStore's shared key-value space: every posted copy of a request's message, DM channels, cached identity lookups and seen request signatures, so any instance can update every copy and refuse replays.
import type { PendingStore } from '../../store.js';

const NS_DMS = 'slack.dms';
const NS_USERS = 'slack.users';
const NS_EMAILS = 'slack.emails';
const NS_SEEN = 'slack.seen';
const messagesNamespace = (requestId: string) => `slack.messages.${requestId}`;

/** One posted copy of a request's message: what chat.update needs. */
export interface MessageCopy {
  readonly channel: string;
  readonly ts: string;
}

/** The outcome of mapping a Slack user through users.info (cached so clicks stay within Slack's 3-second window). */
export interface CachedIdentity {
  readonly identity: string | null;
  /** Why the user is not mapped (shown to them in the refusal). */
  readonly why?: string;
}

/** How long an identity learnt from users.info is trusted before asking again (a deactivated user stops counting within this). */
export const IDENTITY_CACHE_MS = 5 * 60_000;
/** Signatures are remembered a little past the 5-minute window either side. */
export const SEEN_RETENTION_MS = 11 * 60_000;

function parse<T>(text: string | null): T | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

export class SlackRefs {
  #lastPurge = 0;
  /** Signatures this instance has seen: closes the window between two identical requests reaching it at once. */
  readonly #seenHere = new Map<string, number>();

  constructor(
    private readonly store: PendingStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** One key per channel, so instances recording copies at once never overwrite each other. */
  async saveCopy(requestId: string, copy: MessageCopy, ttlMs: number): Promise<void> {
    await this.store.kvSet(messagesNamespace(requestId), copy.channel, JSON.stringify(copy), ttlMs);
  }

  async copies(requestId: string): Promise<MessageCopy[]> {
    const all = await this.store.kvList(messagesNamespace(requestId));
    return [...all.values()].map((v) => parse<MessageCopy>(v)).filter((v): v is MessageCopy => v !== null && typeof v.ts === 'string');
  }

  async dmChannel(userId: string): Promise<string | null> {
    return this.store.kvGet(NS_DMS, userId);
  }

  async saveDmChannel(userId: string, channel: string): Promise<void> {
    await this.store.kvSet(NS_DMS, userId, channel);
  }

  async cachedIdentity(userId: string): Promise<CachedIdentity | null> {
    return parse<CachedIdentity>(await this.store.kvGet(NS_USERS, userId));
  }

  async saveIdentity(userId: string, value: CachedIdentity): Promise<void> {
    await this.store.kvSet(NS_USERS, userId, JSON.stringify(value), IDENTITY_CACHE_MS);
  }

  /** The Slack user id found for an approver's email (null: none), cached like identities. */
  async cachedEmailUser(email: string): Promise<{ user: string | null } | null> {
    return parse<{ user: string | null }>(await this.store.kvGet(NS_EMAILS, email.toLowerCase()));
  }

  async saveEmailUser(email: string, user: string | null): Promise<void> {
    await this.store.kvSet(NS_EMAILS, email.toLowerCase(), JSON.stringify({ user }), IDENTITY_CACHE_MS);
  }

  /**
   * Records a request signature; false when it was seen before (a replay). The shared store makes this hold
   * across instances; entries expire after SEEN_RETENTION_MS and are purged now and then (the store keeps
   * expired entries until a namespace is listed).
   */
  async firstSighting(signature: string): Promise<boolean> {
    const t = this.now();
    for (const [sig, until] of this.#seenHere) if (until <= t) this.#seenHere.delete(sig);
    if (this.#seenHere.has(signature)) return false;
    this.#seenHere.set(signature, t + SEEN_RETENTION_MS);
    if ((await this.store.kvGet(NS_SEEN, signature)) !== null) return false;
    await this.store.kvSet(NS_SEEN, signature, String(t), SEEN_RETENTION_MS);
    if (t - this.#lastPurge > SEEN_RETENTION_MS) {
      this.#lastPurge = t;
      await this.store.kvList(NS_SEEN);
    }
    return true;
  }
}
