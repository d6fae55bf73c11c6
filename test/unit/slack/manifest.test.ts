// The Slack app manifest in docker/slack-app/ matches what pgwarden does: the interactivity URL is the mounted endpoint and every Web API method it calls has its scope.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ACTIONS_ENDPOINT } from '../../../src/approvals/channels/slack/interactions.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const manifest = parse(readFileSync(resolve(ROOT, 'docker/slack-app/manifest.yaml'), 'utf8')) as {
  oauth_config: { scopes: { bot: string[] } };
  settings: { interactivity: { is_enabled: boolean; request_url: string }; socket_mode_enabled: boolean; event_subscriptions?: unknown };
};

/** Scopes each Web API method pgwarden calls needs (Slack's method reference pages). */
const METHOD_SCOPES: Record<string, string[]> = {
  'chat.postMessage': ['chat:write'],
  'chat.update': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  'views.open': [],
  'users.info': ['users:read'],
  'users.lookupByEmail': ['users:read.email'],
  'conversations.open': ['im:write'],
  'auth.test': [],
};

describe('docker/slack-app/manifest.yaml', () => {
  it('points interactivity at the endpoint pgwarden mounts, over HTTPS, without socket mode or event subscriptions', () => {
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(new URL(manifest.settings.interactivity.request_url).protocol).toBe('https:');
    expect(new URL(manifest.settings.interactivity.request_url).pathname).toBe(ACTIONS_ENDPOINT);
    expect(manifest.settings.socket_mode_enabled).toBe(false);
    expect(manifest.settings.event_subscriptions).toBeUndefined();
  });

  it('asks for exactly the scopes of the methods the client calls', () => {
    const client = readFileSync(resolve(ROOT, 'src/approvals/channels/slack/client.ts'), 'utf8');
    const called = [...client.matchAll(/(?:delivery|interactive)\.([a-z]+)\.([a-zA-Z]+)\(/g)].map((m) => `${m[1]}.${m[2]}`);
    expect(new Set(called)).toEqual(new Set(Object.keys(METHOD_SCOPES)));
    const needed = new Set(Object.values(METHOD_SCOPES).flat());
    expect(new Set(manifest.oauth_config.scopes.bot)).toEqual(needed);
  });
});
