// Runs the PendingStore contract against the in-memory store, plus what only it has: a bound on settled records.
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../../src/approvals/memory-store.js';
import { T0, makeRequest } from './fixtures.js';
import { storeContract } from './store-contract.js';

storeContract('memory', async () => {
  let t = T0;
  return { store: createMemoryStore({ now: () => t }), advance: (ms) => void (t += ms) };
});

describe('memory store bounds', () => {
  it('keeps at most recentMax settled requests, dropping the oldest decided first, and never a pending one', async () => {
    let t = T0;
    const store = createMemoryStore({ now: () => t, recentMax: 2 });
    const pending = makeRequest();
    await store.create(pending);
    const settled = [];
    for (let i = 0; i < 4; i++) {
      const r = makeRequest();
      await store.create(r);
      await store.decide({ id: r.id, by: 'alice@example.com', decision: 'deny', reason: '' });
      settled.push(r);
      t += 1000;
    }
    await store.create(makeRequest());
    expect(await store.get(settled[0]!.id)).toBeNull();
    expect(await store.get(settled[1]!.id)).toBeNull();
    expect((await store.get(settled[3]!.id))?.status).toBe('denied');
    expect((await store.get(pending.id))?.status).toBe('pending');
    expect(await store.reapLost()).toEqual([]);
  });
});
