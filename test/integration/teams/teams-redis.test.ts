// Teams card state in Redis: another instance (or this one after a restart) finds every card copy and conversation reference and updates the cards.
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { createRedisStore, type RedisPendingStore } from '../../../src/approvals/redis-store.js';
import { createTeamsChannel } from '../../../src/approvals/channels/teams/channel.js';
import { ALICE, TEST_CHANNEL_ID, cardText, startTeamsHarness, type TeamsHarness } from '../../fakes/teams-harness.js';
import { redisUrl, uniquePrefix } from '../approvals/redis-helpers.js';

let h: TeamsHarness | undefined;
const stores: RedisPendingStore[] = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const s of stores.splice(0)) await s.close();
});

async function redisStore(prefix: string): Promise<RedisPendingStore> {
  const store = createRedisStore({ url: redisUrl(), keyPrefix: prefix, logger: silentLogger });
  stores.push(store);
  expect(await store.ready(5000)).toBe(true);
  return store;
}

describe('Teams channel on a shared Redis store', () => {
  it('a second instance updates the card the first one posted, using only what Redis holds', async () => {
    const prefix = uniquePrefix();
    h = await startTeamsHarness({ store: await redisStore(prefix) });
    // The bot is installed in a personal chat too: that reference must be visible to the other instance.
    await h.post({
      type: 'conversationUpdate',
      id: 'install-1',
      channelId: 'msteams',
      serviceUrl: h.connector.url,
      from: { id: ALICE.id, name: 'Alice', aadObjectId: ALICE.aadObjectId },
      recipient: { id: '28:app' },
      conversation: { id: 'a:alice-personal', conversationType: 'personal' },
      membersAdded: [{ id: '28:app' }],
    });
    const pending = await h.open();
    const message = await h.connector.waitFor(() => h!.connector.messagesIn(TEST_CHANNEL_ID)[0]);
    await expect.poll(async () => (await h!.store.kvList(`teams.cards.${pending.request.id}`)).size).toBe(1);

    // Another instance: its own Redis connection, a fresh Teams SDK app, nothing in memory.
    const other = await redisStore(prefix);
    expect([...(await other.kvList('teams.conversations')).keys()]).toContain('a:alice-personal');
    const channelB = createTeamsChannel({
      config: h.config,
      store: other,
      decide: () => Promise.reject(new Error('not used')),
      logger: silentLogger,
      publicUrl: 'http://pgwarden.test',
      cloud: h.jwks.cloud,
      serviceUrl: h.connector.url,
      token: () => h!.jwks.outboundToken(),
    });
    const decided = await h.service.decide({ id: pending.request.id, by: 'alice@example.com', decision: 'deny', reason: 'wrong database', via: 'api' });
    expect(decided.ok).toBe(true);
    await pending.outcome;
    const puts = () => h!.connector.calls.filter((c) => c.method === 'PUT' && c.activityId === message.activityId).length;
    await h.connector.waitFor(() => puts() >= 1);
    const before = puts();
    await channelB.updated((await other.get(pending.request.id))!);
    expect(puts()).toBe(before + 1);
    expect(cardText(h.connector.cardOf(message))).toContain('Denied by alice@example.com');
    expect(cardText(h.connector.cardOf(message))).toContain('wrong database');
    await channelB.close();
  });
});
