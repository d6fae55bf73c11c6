// Runs the PendingStore contract against the in-memory store.
import { createMemoryStore } from '../../../src/approvals/memory-store.js';
import { T0 } from './fixtures.js';
import { storeContract } from './store-contract.js';

storeContract('memory', async () => {
  let t = T0;
  return { store: createMemoryStore({ now: () => t }), advance: (ms) => void (t += ms) };
});
