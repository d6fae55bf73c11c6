// Teams conversation references, known users and sent card copies, kept in the PendingStore's shared kv so any instance, after any restart, can post and update cards.
import type { PendingStore } from '../../store.js';

const NS_CONVERSATIONS = 'teams.conversations';
const NS_USERS = 'teams.users';
const cardsNamespace = (requestId: string) => `teams.cards.${requestId}`;

/** Where the bot can post: captured from install (conversationUpdate/installationUpdate) and every inbound activity. */
export interface ConversationRef {
  readonly conversation_id: string;
  readonly service_url: string;
  readonly conversation_type: string;
  readonly tenant_id?: string | undefined;
  /** For personal chats: the user on the other side. */
  readonly user_aad_object_id?: string | undefined;
  /** Team and channel names, as install and channel events tell them (for the console; never used to decide). */
  readonly team_name?: string | undefined;
  readonly channel_name?: string | undefined;
  readonly captured_at: string;
}

/** A Teams user the bot has seen. */
export interface UserRef {
  /** Bot Framework user id ("29:…"): the user's MRI for refresh.userIds and for creating a personal chat. */
  readonly id: string;
  readonly aad_object_id: string;
  readonly name?: string | undefined;
  readonly upn?: string | undefined;
  readonly personal_conversation_id?: string | undefined;
  readonly service_url: string;
  readonly tenant_id?: string | undefined;
}

/** One posted copy of a request's card: what PUT /v3/conversations/{conversation}/activities/{activity} needs. */
export interface CardCopy {
  readonly conversation_id: string;
  readonly activity_id: string;
  readonly service_url: string;
}

function parse<T>(text: string | null): T | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

export class TeamsRefs {
  constructor(private readonly store: PendingStore) {}

  async saveConversation(ref: ConversationRef): Promise<void> {
    await this.store.kvSet(NS_CONVERSATIONS, ref.conversation_id, JSON.stringify(ref));
  }

  async conversation(conversationId: string): Promise<ConversationRef | null> {
    return parse<ConversationRef>(await this.store.kvGet(NS_CONVERSATIONS, conversationId));
  }

  async conversations(): Promise<ConversationRef[]> {
    const all = await this.store.kvList(NS_CONVERSATIONS);
    return [...all.values()].map((v) => parse<ConversationRef>(v)).filter((v): v is ConversationRef => v !== null);
  }

  /** Merges what is newly known about a user with what was stored (a channel message knows no personal chat, a personal one does). */
  async saveUser(user: UserRef): Promise<UserRef> {
    const key = user.aad_object_id.toLowerCase();
    const before = parse<UserRef>(await this.store.kvGet(NS_USERS, key));
    const merged: UserRef = {
      ...before,
      ...Object.fromEntries(Object.entries(user).filter(([, v]) => v !== undefined)),
    } as UserRef;
    if (JSON.stringify(before) !== JSON.stringify(merged)) await this.store.kvSet(NS_USERS, key, JSON.stringify(merged));
    return merged;
  }

  async user(aadObjectId: string): Promise<UserRef | null> {
    return parse<UserRef>(await this.store.kvGet(NS_USERS, aadObjectId.toLowerCase()));
  }

  async users(): Promise<UserRef[]> {
    const all = await this.store.kvList(NS_USERS);
    return [...all.values()].map((v) => parse<UserRef>(v)).filter((v): v is UserRef => v !== null);
  }

  /** One key per conversation, so instances recording copies at once never overwrite each other. */
  async saveCopy(requestId: string, copy: CardCopy, ttlMs: number): Promise<void> {
    await this.store.kvSet(cardsNamespace(requestId), copy.conversation_id, JSON.stringify(copy), ttlMs);
  }

  async copies(requestId: string): Promise<CardCopy[]> {
    const all = await this.store.kvList(cardsNamespace(requestId));
    return [...all.values()].map((v) => parse<CardCopy>(v)).filter((v): v is CardCopy => v !== null);
  }
}
