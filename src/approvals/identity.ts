// How approver and requester identities compare: trimmed and case-insensitive, in one place for both stores.

/** Canonical form of an identity for comparisons ("Alice@Example.com " ≡ "alice@example.com"). */
export function normalizeIdentity(identity: string): string {
  return identity.trim().toLowerCase();
}

/** The identities that may never approve a request: the actor's user and, when known, its human owner. */
export function requesterIdentities(actor: { readonly user: string; readonly owner?: string | undefined }): string[] {
  const out = [normalizeIdentity(actor.user)];
  if (actor.owner !== undefined && actor.owner.trim() !== '') out.push(normalizeIdentity(actor.owner));
  return out.filter((s) => s !== '');
}

/**
 * The owner lookup the proxy calls at startup with the connection's user name (config `identities.<name>.owner`).
 * An exact entry wins; otherwise a case-insensitive one, so that a config written `Agent_Bob` still names the owner of
 * `agent_bob` — for no-self-approval, finding an owner too readily is the safe mistake.
 */
export function ownerLookup(identities: Readonly<Record<string, { readonly owner?: string | undefined }>>): (user: string) => string | undefined {
  const exact = new Map<string, string>();
  const folded = new Map<string, string>();
  for (const [name, entry] of Object.entries(identities)) {
    if (!entry.owner || entry.owner.trim() === '') continue;
    exact.set(name, entry.owner.trim());
    if (!folded.has(normalizeIdentity(name))) folded.set(normalizeIdentity(name), entry.owner.trim());
  }
  return (user) => exact.get(user) ?? folded.get(normalizeIdentity(user));
}
