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
} as const;

/** Every value above: the strings that must never appear in a log line, error message or audit record. */
export const ALL_TEST_SECRETS: readonly string[] = Object.values(TEST_SECRETS);

/** The first secret found in `text`, or null. */
export function findSecret(text: string): string | null {
  for (const secret of ALL_TEST_SECRETS) if (text.includes(secret)) return secret;
  return null;
}
