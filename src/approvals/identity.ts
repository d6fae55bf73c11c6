// How approver and requester identities compare: trimmed and case-insensitive, in one place for both stores.

/** Canonical form of an identity for comparisons ("Alice@Example.com " ≡ "alice@example.com"). */
export function normalizeIdentity(identity: string): string {
  return identity.trim().toLowerCase();
}

/** The identities that may never approve a request: the actor's user, its authenticated identity and, when known, its human owner. */
export function requesterIdentities(actor: { readonly user: string; readonly owner?: string | undefined; readonly identity?: string | undefined }): string[] {
  const out = [normalizeIdentity(actor.user)];
  if (actor.identity !== undefined && normalizeIdentity(actor.identity) !== out[0]) out.push(normalizeIdentity(actor.identity));
  if (actor.owner !== undefined && actor.owner.trim() !== '') out.push(normalizeIdentity(actor.owner));
  return out.filter((s) => s !== '');
}

/** Who asked, as cards and messages say it: "agent-7, owned by alice@example.com" (the identity, else the user name). */
export function describeRequester(actor: { readonly user: string; readonly owner?: string | undefined; readonly identity?: string | undefined }): string {
  const who = actor.identity || actor.user || '?';
  return actor.owner && actor.owner.trim() !== '' ? `${who}, owned by ${actor.owner.trim()}` : who;
}

/** "OIDC token", "SCRAM password", … for the non-passthrough methods; null in passthrough mode (nothing to add). */
export function describeAuth(actor: { readonly auth?: string | undefined; readonly groups?: readonly string[] | undefined }): string | null {
  const method = { scram: 'SCRAM-SHA-256 (held by pgwarden)', oidc: 'OIDC token', cert: 'TLS client certificate' }[actor.auth ?? ''];
  if (!method) return null;
  return actor.groups && actor.groups.length > 0 ? `${method}; groups ${actor.groups.join(', ')}` : method;
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
