// A whole pgwarden with Slack on but a secret missing does not start: it fails before binding its ports, with an error naming what to set.
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { startApp } from '../../../src/app.js';
import { ConfigError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { pgUrl } from '../../helpers/env.js';
import { TEST_SECRETS } from '../../helpers/secrets.js';
import { freePort } from '../approvals/redis-helpers.js';

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

describe('startup with Slack on', () => {
  it('refuses to start without the signing secret, naming it, and leaves no port open', async () => {
    const [proxyPort, httpPort] = [await freePort(), await freePort()];
    const config = loadConfig(
      { upstream: pgUrl(), listen: `127.0.0.1:${proxyPort}`, http: `127.0.0.1:${httpPort}` },
      { PGWARDEN_SLACK_BOT_TOKEN: TEST_SECRETS.slackBotToken },
      { 'slack.enabled': true, 'slack.channels': ['C0APPROVALS'] },
    );
    const started = startApp({ config, logger: silentLogger });
    await expect(started).rejects.toThrow(ConfigError);
    await expect(started).rejects.toThrow('slack.signing_secret (or PGWARDEN_SLACK_SIGNING_SECRET) is not set');
    expect(await listening(httpPort)).toBe(false);
    expect(await listening(proxyPort)).toBe(false);
  });
});
