// teams.credential: each way to get tokens is validated at startup with a message naming the key and the fix, and maps
// to exactly one SDK credential (never the SDK's silent fallback from a missing secret to a managed identity).
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config.js';
import { ConfigError } from '../../../src/errors.js';
import { teamsCredentials } from '../../../src/approvals/channels/teams/credentials.js';
import { CLOUD_PROFILES, defaultServiceUrl } from '../../../src/approvals/channels/teams/cloud.js';

const APP = '4f1c2a5e-0000-4000-8000-00000000b07a';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const teams = (extra: Record<string, unknown>) => configSchema.parse({ teams: { enabled: true, app_id: APP, tenant_id: TENANT, ...extra } }).teams;

describe('teams.credential', () => {
  it('client_secret (the default) uses the secret', () => {
    const c = teamsCredentials(teams({ app_password: 's3cret' }));
    expect(c.clientSecret?.reveal()).toBe('s3cret');
    expect(c.managedIdentityClientId).toBeUndefined();
  });

  it('client_secret without a secret fails at startup instead of falling back to a managed identity', () => {
    expect(() => teamsCredentials(teams({}))).toThrow(ConfigError);
    expect(() => teamsCredentials(teams({}))).toThrow(/teams\.credential is client_secret but teams\.app_password is empty: set PGWARDEN_TEAMS_APP_PASSWORD/);
  });

  it("managed_identity uses the bot's own identity (client id = app id) and refuses a stray secret", () => {
    expect(teamsCredentials(teams({ credential: 'managed_identity' }))).toEqual({ managedIdentityClientId: APP });
    expect(() => teamsCredentials(teams({ credential: 'managed_identity', app_password: 'x' }))).toThrow(/app_password is set but teams\.credential is managed_identity/);
  });

  it('federated needs the trusted managed identity: "system" or a client id other than the app id', () => {
    expect(teamsCredentials(teams({ credential: 'federated', federated_identity: 'system' }))).toEqual({ managedIdentityClientId: 'system' });
    const umi = '9d3b1c8a-1111-4111-8111-000000000001';
    expect(teamsCredentials(teams({ credential: 'federated', federated_identity: umi }))).toEqual({ managedIdentityClientId: umi });
    expect(() => teamsCredentials(teams({ credential: 'federated' }))).toThrow(/federated_identity is empty: set it to "system"/);
    expect(() => teamsCredentials(teams({ credential: 'federated', federated_identity: APP }))).toThrow(/equals teams\.app_id.*managed_identity/);
    expect(() => teamsCredentials(teams({ credential: 'federated', federated_identity: 'my-identity' }))).toThrow(/must be "system" or a managed identity's client id/);
  });

  it('requires tenant_id, as a GUID, whatever the credential (single-tenant bots fail with AADSTS700016 otherwise)', () => {
    const noTenant = configSchema.parse({ teams: { enabled: true, app_id: APP, app_password: 'x' } }).teams;
    expect(() => teamsCredentials(noTenant)).toThrow(/teams\.tenant_id is required.*AADSTS700016/);
    expect(() => teamsCredentials(noTenant, { tokenProvided: true })).toThrow(/teams\.tenant_id is required/);
    expect(() => teamsCredentials(teams({ tenant_id: 'contoso.onmicrosoft.com', app_password: 'x' }))).toThrow(/must be the tenant's id \(a GUID/);
  });

  it('lists every problem at once and never prints the secret', () => {
    try {
      teamsCredentials(configSchema.parse({ teams: { enabled: true, app_id: APP, credential: 'managed_identity', app_password: 'hunter2-secret' } }).teams);
      throw new Error('expected a ConfigError');
    } catch (err) {
      const message = (err as Error).message;
      expect(message).toMatch(/tenant_id is required/);
      expect(message).toMatch(/app_password is set/);
      expect(message).not.toContain('hunter2-secret');
    }
  });

  it('rejects an unknown credential kind in the config schema', () => {
    expect(() => configSchema.parse({ teams: { credential: 'password' } })).toThrow();
  });
});

describe('teams.cloud', () => {
  it('derives the default Bot Connector URL from the cloud, GCC included, and has none for China', () => {
    expect(defaultServiceUrl('public')).toBe('https://smba.trafficmanager.net/teams');
    expect(defaultServiceUrl('gcc')).toBe('https://smba.infra.gcc.teams.microsoft.com/teams');
    expect(defaultServiceUrl('usgov')).toBe('https://smba.infra.gov.teams.microsoft.us/teams');
    expect(defaultServiceUrl('usgovdod')).toBe('https://smba.infra.dod.teams.microsoft.us/teams');
    expect(defaultServiceUrl('china')).toBeNull();
    // GCC (moderate) authenticates against the public cloud; GCC High and DoD against the US government cloud.
    expect(CLOUD_PROFILES.gcc.environment.tokenIssuer).toBe('https://api.botframework.com');
    expect(CLOUD_PROFILES.usgov.environment.tokenIssuer).toBe('https://api.botframework.us');
  });

  it('accepts every cloud the profiles know, and nothing else', () => {
    for (const cloud of Object.keys(CLOUD_PROFILES)) expect(configSchema.parse({ teams: { cloud } }).teams.cloud).toBe(cloud);
    expect(() => configSchema.parse({ teams: { cloud: 'mars' } })).toThrow();
  });
});
