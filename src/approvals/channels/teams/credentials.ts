// teams.credential checked at startup (a clear ConfigError, never a silent fallback) and turned into the Teams SDK's options.
import type { Config } from '../../../config.js';
import { ConfigError } from '../../../errors.js';
import type { Secret } from '../../../units.js';

export const TeamsCredential = {
  clientSecret: 'client_secret',
  managedIdentity: 'managed_identity',
  federated: 'federated',
} as const;
export type TeamsCredential = (typeof TeamsCredential)[keyof typeof TeamsCredential];

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What the SDK's App needs to get outbound tokens; exactly one way is set. */
export interface SdkCredentials {
  readonly clientSecret?: Secret;
  /**
   * The SDK's managedIdentityClientId: equal to the app id for the app's own (user-assigned) managed identity;
   * `system` or another client id for a managed identity the app registration trusts through a federated credential.
   */
  readonly managedIdentityClientId?: string;
}

type TeamsConfig = Config['teams'];

/**
 * Validates the Teams credential settings and returns what the SDK needs. Throws ConfigError naming the key and the
 * fix: single-tenant bots (the only kind Azure creates now) fail at the first token with AADSTS700016 without
 * tenant_id, and a missing secret must not quietly become a managed-identity attempt.
 */
export function teamsCredentials(config: TeamsConfig, options: { tokenProvided?: boolean } = {}): SdkCredentials {
  const problems: string[] = [];
  if (!config.tenant_id) {
    problems.push('teams.tenant_id is required (or PGWARDEN_TEAMS_TENANT_ID): the bot is single-tenant, and tokens from another tenant fail with AADSTS700016. Use the "App Tenant ID" of the Azure Bot');
  } else if (!GUID.test(config.tenant_id)) {
    problems.push(`teams.tenant_id must be the tenant's id (a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47), got '${config.tenant_id}': activities carry the GUID, so a domain name would match none`);
  }
  const secret = config.app_password;
  const federated = config.federated_identity;
  if (options.tokenProvided) {
    if (problems.length > 0) throw new ConfigError(`invalid Teams configuration:\n  ${problems.join('\n  ')}`);
    return {};
  }
  switch (config.credential) {
    case TeamsCredential.clientSecret:
      if (!secret || secret.reveal() === '') problems.push('teams.credential is client_secret but teams.app_password is empty: set PGWARDEN_TEAMS_APP_PASSWORD to the client secret, or choose teams.credential: managed_identity or federated');
      if (federated) problems.push('teams.federated_identity is set but teams.credential is client_secret: remove one');
      break;
    case TeamsCredential.managedIdentity:
      if (secret && secret.reveal() !== '') problems.push('teams.app_password is set but teams.credential is managed_identity: remove the secret, or choose credential: client_secret');
      if (federated) problems.push('teams.federated_identity is set but teams.credential is managed_identity: use credential: federated for a managed identity other than the bot\'s own');
      break;
    case TeamsCredential.federated:
      if (secret && secret.reveal() !== '') problems.push('teams.app_password is set but teams.credential is federated: remove the secret, or choose credential: client_secret');
      if (!federated) problems.push('teams.credential is federated but teams.federated_identity is empty: set it to "system" (the host\'s system-assigned managed identity) or the client id of the user-assigned managed identity the app registration trusts');
      else if (federated !== 'system' && !GUID.test(federated)) problems.push(`teams.federated_identity must be "system" or a managed identity's client id (a GUID), got '${federated}'`);
      else if (federated.toLowerCase() === config.app_id.toLowerCase()) problems.push('teams.federated_identity equals teams.app_id: that is the bot\'s own managed identity, use credential: managed_identity');
      break;
  }
  if (problems.length > 0) throw new ConfigError(`invalid Teams configuration:\n  ${problems.join('\n  ')}`);
  switch (config.credential) {
    case TeamsCredential.clientSecret:
      return { clientSecret: secret! };
    case TeamsCredential.managedIdentity:
      return { managedIdentityClientId: config.app_id };
    case TeamsCredential.federated:
      return { managedIdentityClientId: federated! };
  }
}
