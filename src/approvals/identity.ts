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
