// With the approval store (Redis) down, a Slack click fails closed (503, no modal, nothing recorded); once Redis is back, clicks work again.
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisStore, type RedisPendingStore } from '../../../src/approvals/redis-store.js';
import { silentLogger } from '../../../src/log.js';
import { blockActionsPayload, postSigned, signInteraction } from '../../fakes/slack-interactions.js';
import { S_ALICE, SLACK_SECRET, startSlackHarness, type SlackHarness } from '../../fakes/slack-harness.js';
import { PrivateRedis, uniquePrefix, until } from '../approvals/redis-helpers.js';

let h: SlackHarness | undefined;
let redis: PrivateRedis | undefined;
let store: RedisPendingStore | undefined;
afterEach(async () => {
  await h?.close();
  await store?.close();
  await redis?.destroy();
  h = undefined;
  store = undefined;
  redis = undefined;
});

describe('Slack with the approval store down', () => {
  it('answers a click with 503 and opens no modal while Redis is down, and works again once it is back', async () => {
    redis = await PrivateRedis.start();
    store = createRedisStore({ url: redis.url, keyPrefix: uniquePrefix(), logger: silentLogger });
    expect(await store.ready(5000)).toBe(true);
    h = await startSlackHarness({ store });
    const pending = await h.open();
    const message = await h.message(pending.request.id);

    await redis.stop();
    await until(() => !store!.isAvailable(), 'the store to notice Redis is down');
    const down = await postSigned(h.baseUrl, signInteraction(blockActionsPayload(h.api, S_ALICE, message, 'pgwarden_approve'), SLACK_SECRET));
    expect(down).toMatchObject({ status: 503, body: { error: { code: 'unavailable' } } });
    await new Promise((r) => setTimeout(r, 100));
    expect(h.api.callsOf('views.open')).toHaveLength(0);
    expect(h.logs.text()).toContain('slack: interaction refused: the approval store is unreachable');

    await redis.startProcess();
    await until(() => store!.isAvailable(), 'the store to reconnect');
    const up = await postSigned(h.baseUrl, signInteraction(blockActionsPayload(h.api, S_ALICE, message, 'pgwarden_approve'), SLACK_SECRET));
    expect(up.status).toBe(200);
    await h.modalFor(S_ALICE);
    pending.withdraw('client_disconnect');
  });
});
