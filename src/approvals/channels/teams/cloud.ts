// Microsoft clouds a Teams bot can live in: the SDK's login/token/JWKS endpoints and the Bot Connector URL to post to first.
import { CHINA, PUBLIC, US_GOV, US_GOV_DOD, type CloudEnvironment } from '@microsoft/teams.api';

export const TeamsCloud = {
  public: 'public',
  gcc: 'gcc',
  usgov: 'usgov',
  usgovdod: 'usgovdod',
  china: 'china',
} as const;
export type TeamsCloud = (typeof TeamsCloud)[keyof typeof TeamsCloud];

interface CloudProfile {
  /** Endpoints the SDK authenticates against (GCC Moderate uses the public Azure cloud's). */
  readonly environment: CloudEnvironment;
  /**
   * The Bot Connector for proactive posts before a conversation told us its own serviceUrl (captured on install and
   * preferred from then on). Microsoft's well-known proactive endpoints (Agents SDK `TeamsServiceEndpoints`); none is
   * published for the China cloud, so there `teams.service_url` is required.
   */
  readonly serviceUrl: string | null;
}

export const CLOUD_PROFILES: Readonly<Record<TeamsCloud, CloudProfile>> = {
  public: { environment: PUBLIC, serviceUrl: 'https://smba.trafficmanager.net/teams' },
  gcc: { environment: PUBLIC, serviceUrl: 'https://smba.infra.gcc.teams.microsoft.com/teams' },
  usgov: { environment: US_GOV, serviceUrl: 'https://smba.infra.gov.teams.microsoft.us/teams' },
  usgovdod: { environment: US_GOV_DOD, serviceUrl: 'https://smba.infra.dod.teams.microsoft.us/teams' },
  china: { environment: CHINA, serviceUrl: null },
};

/** The default Bot Connector URL for a cloud, or null when the cloud has no published one. */
export function defaultServiceUrl(cloud: TeamsCloud): string | null {
  return CLOUD_PROFILES[cloud].serviceUrl;
}

/** The SDK cloud environment for a configured cloud name. */
export function cloudEnvironment(cloud: TeamsCloud): CloudEnvironment {
  return CLOUD_PROFILES[cloud].environment;
}
