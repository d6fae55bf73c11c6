// Runs the authentication method of a database route with a client and turns its verdict into a Login or an AuthError:
// applies the failure backoff (the answer, success or failure, waits as long as recent failures of the address or name
// say), counts pgwarden_authentications_total{method,outcome}, and logs why a failure failed (the client never learns).
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { AuthError, type PgwardenError } from '../../errors.js';
import type { Metrics } from '../../metrics.js';
import type { CertIdentityField } from '../tls/client-cert.js';
import { certMethod } from './method-cert.js';
import { scramMethod } from './method-scram.js';
import { tokenMethod } from './method-token.js';
import type { IdentityDirectory } from './identities.js';
import type { AuthConversation, Login, MethodResult } from './login.js';
import type { OidcValidator } from './oidc.js';
import type { AuthThrottle } from './throttle.js';

export type TerminatedMethod = Login['auth'];

export interface AuthenticatorDeps {
  readonly directory: IdentityDirectory;
  readonly oidc: OidcValidator | null;
  readonly throttle: AuthThrottle;
  readonly certFields: readonly CertIdentityField[];
  readonly matchUser: boolean;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
  /** Waits (tests pass a recorder). */
  readonly sleep?: (ms: number) => Promise<void>;
}

export type AuthOutcome = { readonly ok: true; readonly login: Login; readonly finalMessage: Buffer | null } | { readonly ok: false; readonly error: PgwardenError };

export interface Authenticator {
  authenticate(method: TerminatedMethod, conv: AuthConversation, connectionId: string): Promise<AuthOutcome>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export function createAuthenticator(deps: AuthenticatorDeps): Authenticator {
  // Salts of unknown names are derived from this per-process secret: stable across attempts, unguessable across instances.
  const mockSecret = randomBytes(32);
  const sleep = deps.sleep ?? defaultSleep;

  async function run(method: TerminatedMethod, conv: AuthConversation): Promise<MethodResult> {
    switch (method) {
      case 'scram':
        return scramMethod(conv, deps.directory, mockSecret);
      case 'oidc':
        if (!deps.oidc) return { ok: false, why: 'auth.oidc is not configured', presented: false };
        return tokenMethod(conv, deps.oidc, deps.directory, deps.matchUser);
      case 'cert':
        return certMethod(conv, deps.certFields, deps.directory, deps.matchUser);
    }
  }

  return {
    async authenticate(method, conv, connectionId) {
      const result = await run(method, conv);
      const failed = !result.ok;
      const delay = deps.throttle.delay(conv.address, conv.user, failed && result.presented);
      if (!result.ok) {
        // Recorded before waiting, so attempts running in parallel already see it.
        if (result.presented) deps.throttle.recordFailure(conv.address, conv.user);
        deps.metrics?.authentications.inc({ method, outcome: result.presented ? 'failure' : 'refused' });
        deps.logger.info({ conn: connectionId, user: conv.user, database: conv.database, address: conv.address, method, why: result.why, delay_ms: delay }, 'authentication failed');
        if (delay > 0) await sleep(delay);
        return { ok: false, error: result.error ?? AuthError.failed(conv.user) };
      }
      if (delay > 0) await sleep(delay);
      deps.throttle.recordSuccess(conv.user);
      const credential = deps.directory.credential(result.identity, result.groups);
      if (!credential) {
        deps.metrics?.authentications.inc({ method, outcome: 'refused' });
        deps.logger.warn({ conn: connectionId, identity: result.identity, groups: result.groups, method }, 'authenticated identity has no upstream role mapped (identities.<name>.upstream, auth.groups, auth.upstream)');
        return { ok: false, error: AuthError.noUpstreamRole(result.identity) };
      }
      deps.metrics?.authentications.inc({ method, outcome: 'success' });
      deps.logger.debug({ conn: connectionId, identity: result.identity, groups: result.groups, owner: result.owner, method }, 'client authenticated by pgwarden');
      return {
        ok: true,
        login: { identity: result.identity, groups: result.groups, owner: result.owner, auth: method, credential },
        finalMessage: result.finalMessage ?? null,
      };
    },
  };
}
