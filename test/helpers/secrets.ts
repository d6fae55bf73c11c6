// The secret values tests use (passwords, tokens, signing keys). Every test that needs a secret takes it from here, so the log check can grep for all of them.

export const TEST_SECRETS = {
  /** Password of test database roles (md5/scram/cleartext). */
  pgPassword: 'pgw-test-pw-7f3a9c',
  /** Bearer token of a test approver for the HTTP API. */
  apiToken: 'pgw-test-token-51d2e8b0',
  /** A second approver's token. */
  apiToken2: 'pgw-test-token-9a4c7e13',
  /** Standard Webhooks signing secret. */
  webhookSecret: 'whsec_cGd3LXRlc3Qtd2ViaG9vay1zZWNyZXQ=',
  /** Microsoft Teams bot client secret. */
  teamsAppPassword: 'pgw-test-teams-secret-c0ffee',
  /** Slack signing secret. */
  slackSigningSecret: 'pgw-test-slack-signing-4b1d',
  /** Slack bot token. */
  slackBotToken: 'xoxb-pgw-test-slack-bot-7e21',
} as const;

/** Approver tokens of the whole-app tests (test/helpers/app.ts) and passwords of the auth-method roles (pg-roles.ts). */
export const APP_TOKENS = {
  'alice@example.com': 'tok-alice-0123456789',
  'bob@example.com': 'tok-bob-0123456789',
  'carol@example.com': 'tok-carol-0123456789',
  postgres: 'tok-postgres-0123456789',
  'mallory@example.com': 'tok-mallory-0123456789',
} as const;
export const ROLE_PASSWORDS = ['md5-secret-Pw1', 'scram-secret-Pw2', 'clear-secret-Pw3'] as const;

/** Identity tests: passwords of the TLS-only upstream's roles (held by pgwarden, never by agents) and of agent identities. */
export const IDENTITY_SECRETS = {
  upstreamApp: 'upstream-app-rw-Pw-5e1f',
  upstreamAgent: 'upstream-agent7-Pw-9c2d',
  upstreamMd5: 'upstream-md5-Pw-77aa',
  agentScram: 'agent-scram-Pw-3b8e',
} as const;

/** Every value above: the strings that must never appear in a log line, error message or audit record. */
export const ALL_TEST_SECRETS: readonly string[] = [...Object.values(TEST_SECRETS), ...Object.values(APP_TOKENS), ...ROLE_PASSWORDS, ...Object.values(IDENTITY_SECRETS)];

/** The first secret found in `text`, or null. */
export function findSecret(text: string): string | null {
  for (const secret of ALL_TEST_SECRETS) if (text.includes(secret)) return secret;
  return null;
}
