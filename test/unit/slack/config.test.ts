// Slack configuration: secrets from env stay secret, ids are checked at startup with a useful message, and turning Slack on without its secrets stops startup.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { ConfigError } from '../../../src/errors.js';
import { checkSlackConfig } from '../../../src/approvals/channels/slack/slack-channel.js';
import { TEST_SECRETS } from '../../helpers/secrets.js';

const ENV = { PGWARDEN_SLACK_BOT_TOKEN: TEST_SECRETS.slackBotToken, PGWARDEN_SLACK_SIGNING_SECRET: TEST_SECRETS.slackSigningSecret };

describe('slack config', () => {
  it('reads the bot token and signing secret from PGWARDEN_SLACK_* and never prints them', () => {
    const config = loadConfig({}, ENV, { 'slack.enabled': true, 'slack.channels': ['C0123456789', { id: 'C0SECURITY1', rules: ['grants'] }] });
    expect(config.slack.bot_token?.reveal()).toBe(TEST_SECRETS.slackBotToken);
    expect(config.slack.signing_secret?.reveal()).toBe(TEST_SECRETS.slackSigningSecret);
    expect(config.slack.channels).toEqual(['C0123456789', { id: 'C0SECURITY1', rules: ['grants'], groups: [] }]);
    const shown = `${JSON.stringify(config)} ${String(config.slack.bot_token)}`;
    expect(shown).not.toContain(TEST_SECRETS.slackBotToken);
    expect(shown).not.toContain(TEST_SECRETS.slackSigningSecret);
    expect(() => checkSlackConfig(config.slack)).not.toThrow();
  });

  it('refuses channel names and malformed member ids, naming the key and the expected form', () => {
    expect(() => loadConfig({}, {}, { 'slack.channels': ['#approvals'] })).toThrow(/slack\.channels\.0: expected a Slack channel id such as C0123456789/);
    expect(() => loadConfig({}, {}, { 'slack.identities': { 'alice@example.com': 'alice@example.com' } })).toThrow(
      /slack\.identities\.alice@example\.com: 'alice@example\.com' is not a Slack user id such as U0123456789/,
    );
  });

  it('stops startup when Slack is on without its bot token or signing secret, naming the env vars', () => {
    const none = loadConfig({}, {}, { 'slack.enabled': true });
    expect(() => checkSlackConfig(none.slack)).toThrow(ConfigError);
    expect(() => checkSlackConfig(none.slack)).toThrow(/PGWARDEN_SLACK_BOT_TOKEN\) and slack\.signing_secret \(or PGWARDEN_SLACK_SIGNING_SECRET\) are not set/);
    const tokenOnly = loadConfig({}, { PGWARDEN_SLACK_BOT_TOKEN: TEST_SECRETS.slackBotToken }, { 'slack.enabled': true });
    expect(() => checkSlackConfig(tokenOnly.slack)).toThrow(/slack\.signing_secret \(or PGWARDEN_SLACK_SIGNING_SECRET\) is not set/);
    const empty = loadConfig({}, {}, { 'slack.enabled': true, 'slack.bot_token': '', 'slack.signing_secret': '' });
    expect(() => checkSlackConfig(empty.slack)).toThrow(ConfigError);
  });

  it('never shows a Slack secret in a config error', () => {
    try {
      loadConfig({}, ENV, { 'slack.bot_token': 42, 'slack.channels': ['bad'] });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(String(err)).toContain('slack.bot_token');
      expect(String(err)).not.toContain(TEST_SECRETS.slackBotToken);
    }
  });
});
