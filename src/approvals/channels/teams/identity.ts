// Teams user → approver identity (config teams.identities: Azure AD object id or UPN → identity), and back to AAD ids for refresh lists.
import { normalizeIdentity } from '../../identity.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isAadObjectId(text: string): boolean {
  return GUID.test(text);
}

/** Who clicked, as Teams tells us (aadObjectId on `from`; the UPN only from the roster lookup). */
export interface TeamsUser {
  /** Bot Framework user id ("29:…"), the user's MRI in this bot's conversations. */
  readonly id: string;
  readonly aadObjectId?: string | undefined;
  readonly upn?: string | undefined;
  readonly name?: string | undefined;
}

export class TeamsIdentities {
  readonly #byAad = new Map<string, string>();
  readonly #byUpn = new Map<string, string>();

  constructor(map: Readonly<Record<string, string>>) {
    // AAD object ids and UPNs are both case-insensitive in Entra ID.
    for (const [key, identity] of Object.entries(map)) {
      const k = key.trim().toLowerCase();
      if (isAadObjectId(k)) this.#byAad.set(k, identity);
      else this.#byUpn.set(k, identity);
    }
  }

  /** The approver identity for a Teams user, or null when the user is not mapped. The object id wins over the UPN (UPNs can be renamed). */
  resolve(user: { aadObjectId?: string | undefined; upn?: string | undefined }): string | null {
    if (user.aadObjectId) {
      const hit = this.#byAad.get(user.aadObjectId.toLowerCase());
      if (hit) return hit;
    }
    if (user.upn) return this.#byUpn.get(user.upn.toLowerCase()) ?? null;
    return null;
  }

  /** True when resolving needs the UPN (the object id alone is not mapped). */
  needsUpn(aadObjectId: string | undefined): boolean {
    return this.#byUpn.size > 0 && !(aadObjectId && this.#byAad.has(aadObjectId.toLowerCase()));
  }

  /** AAD object ids configured for any of these identities (for the card's refresh.userIds). */
  aadIdsFor(identities: readonly string[]): string[] {
    const wanted = new Set(identities.map(normalizeIdentity));
    return [...this.#byAad].filter(([, identity]) => wanted.has(normalizeIdentity(identity))).map(([aad]) => aad);
  }

  /** UPNs configured for any of these identities. */
  upnsFor(identities: readonly string[]): string[] {
    const wanted = new Set(identities.map(normalizeIdentity));
    return [...this.#byUpn].filter(([, identity]) => wanted.has(normalizeIdentity(identity))).map(([upn]) => upn);
  }
}
