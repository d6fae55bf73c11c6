// The identity side of a session's start: who the actor is (the authenticated identity, or the user name in
// passthrough mode), and the upstream connection — TLS per --upstream, then either the client's own StartupMessage
// (passthrough: the client authenticates through pgwarden) or pgwarden's login with the credential mapped to the
// identity, under an application_name that names it so pg_stat_activity and pgaudit show who it is.
import type net from 'node:net';
import type { Logger } from 'pino';
import { AuthError, IdentityConnectionLimitError } from '../errors.js';
import type { Actor } from '../policy/verdict.js';
import { serverEndPointHash } from './auth/scram.js';
import type { Login } from './auth/login.js';
import { loginUpstream, UpstreamLoginError } from './auth/upstream-login.js';
import type { IdentityConnections } from './auth/throttle.js';
import { encodeStartup } from './startup.js';
import { isTls, startUpstream, type UpstreamTarget } from './upstream.js';

/** What the config says about a name, whatever the route (owner and groups apply in passthrough mode too). */
export interface IdentityFacts {
  owner(name: string): string | undefined;
  groups(name: string): readonly string[];
  maxConnections(name: string): number;
}

/** PostgreSQL keeps NAMEDATALEN-1 bytes of application_name. */
const APPLICATION_NAME_BYTES = 63;

/** `agent-7 via pgwarden: psql` (cut to 63 bytes on a character boundary). */
export function upstreamApplicationName(identity: string, application: string): string {
  let text = `${identity} via pgwarden${application ? `: ${application}` : ''}`;
  while (Buffer.byteLength(text, 'utf8') > APPLICATION_NAME_BYTES) text = text.slice(0, -1);
  return text;
}

/** The client's own application_name from the value the server reports back (rules match what the client chose). */
export function clientApplicationName(reported: string, login: Login | null): string {
  if (!login) return reported;
  const base = `${login.identity} via pgwarden`;
  if (reported === base) return '';
  return reported.startsWith(`${base}: `) ? reported.slice(base.length + 2) : reported;
}

export function sessionActor(params: ReadonlyMap<string, string>, login: Login | null, facts: IdentityFacts | undefined, address: string): Actor {
  const application = params.get('application_name') ?? '';
  if (login) {
    const actor: Actor = { user: login.identity, application, address, identity: login.identity, groups: login.groups, auth: login.auth };
    return login.owner ? { ...actor, owner: login.owner } : actor;
  }
  const user = params.get('user') ?? '';
  const owner = facts?.owner(user);
  const actor: Actor = { user, application, address, identity: user, groups: facts?.groups(user) ?? [], auth: 'passthrough' };
  return owner ? { ...actor, owner } : actor;
}

/**
 * Opens the upstream connection for a session. Returns the socket (paused) and the bytes the relay gets first: the
 * server's authentication requests (passthrough), or what follows AuthenticationOk (pgwarden logged in itself).
 */
export async function openSessionUpstream(
  target: UpstreamTarget,
  params: ReadonlyMap<string, string>,
  login: Login | null,
  timeoutMs: number,
  log: { logger: Logger; connectionId: string },
): Promise<{ socket: net.Socket; first: Buffer }> {
  if (!login) {
    const { socket, pending } = await startUpstream(target, encodeStartup(params), timeoutMs);
    return { socket, first: pending };
  }
  const upstreamParams = new Map(params);
  upstreamParams.set('user', login.credential.user);
  upstreamParams.set('application_name', upstreamApplicationName(login.identity, params.get('application_name') ?? ''));
  const { socket, pending } = await startUpstream(target, encodeStartup(upstreamParams), timeoutMs);
  try {
    const peer = isTls(socket) ? socket.getPeerCertificate() : null;
    const first = await loginUpstream({
      socket,
      pending,
      credential: login.credential,
      endPointHash: peer?.raw ? serverEndPointHash(peer.raw) : null,
      channelBinding: target.tls?.settings.channelBinding ?? 'prefer',
      allowedAuth: target.tls?.settings.allowedAuth ?? null,
      timeoutMs,
    });
    socket.pause();
    return { socket, first };
  } catch (err) {
    socket.destroy();
    if (!(err instanceof UpstreamLoginError)) throw err;
    // The reason names the upstream role: operators read it here, the client gets the generic error.
    log.logger.warn({ conn: log.connectionId, identity: login.identity, upstream: target.display, sqlstate: err.sqlstate, why: err.message }, 'upstream login with the mapped credential failed');
    throw AuthError.upstreamRefused(login.identity);
  }
}

/** A session's place in its identity's connection limit: taken once the identity is proven, given back at close. */
export class IdentitySlot {
  private held: string | null = null;

  constructor(
    private readonly counter: IdentityConnections | undefined,
    private readonly facts: IdentityFacts | undefined,
  ) {}

  /** Null when taken (or nothing is counted); the error to send when the identity is at its limit. */
  take(identity: string): IdentityConnectionLimitError | null {
    if (!this.counter || this.held !== null) return null;
    const max = this.facts?.maxConnections(identity) ?? 0;
    if (!this.counter.acquire(identity, max)) return new IdentityConnectionLimitError(identity, max);
    this.held = identity;
    return null;
  }

  release(): void {
    if (this.held !== null) this.counter?.release(this.held);
    this.held = null;
  }
}
