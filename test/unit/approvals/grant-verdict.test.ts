// A fingerprint grant covers only statements that get the approved statement's verdict: the same rule and the same
// categories, re-checked on every use (issue: a grant for an export covered a role switch of the same shape).
import { afterEach, describe, expect, it } from 'vitest';
import { createApprovalService, type ApprovalService } from '../../../src/approvals/service.js';
import { createMemoryStore } from '../../../src/approvals/memory-store.js';
import { grantCovers } from '../../../src/approvals/grants.js';
import { createMetrics } from '../../../src/metrics.js';
import { silentLogger } from '../../../src/log.js';
import type { AuditLog } from '../../../src/audit/record.js';
import type { ApprovalChannel } from '../../../src/approvals/channels/channel.js';
import { makeOpenInput } from './fixtures.js';

const audit: AuditLog = { append: () => {}, appendDurable: async () => {}, close: async () => {} };
const channel: ApprovalChannel = { name: 'rec', async requested() {}, async updated() {} } as unknown as ApprovalChannel;

const services: ApprovalService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.close();
});

async function approvedWithGrant() {
  const service = createApprovalService({
    store: createMemoryStore(), channels: [channel], audit, metrics: createMetrics({ processMetrics: false }),
    logger: silentLogger, instance: 'a', publicUrl: 'http://x', progressIntervalMs: 0,
  });
  services.push(service);
  const input = makeOpenInput();
  const pending = await service.open(input);
  await service.decide({ id: pending.request.id, by: 'alice@example.com', decision: 'approve', reason: '', scope: 'fingerprint' });
  await pending.outcome;
  return { service, input };
}

describe('fingerprint grants re-check the verdict on every use', () => {
  it('lets the same shape through when rule and categories are the same', async () => {
    const { service, input } = await approvedWithGrant();
    expect(await service.findGrant({ ...input, connectionId: 'c2' })).not.toBeNull();
  });

  it('does not cover a statement of the same fingerprint that another rule decides', async () => {
    const { service, input } = await approvedWithGrant();
    expect(await service.findGrant({ ...input, verdict: { ...input.verdict, rule: 'grants' } })).toBeNull();
  });

  it('does not cover a statement of the same fingerprint with other categories', async () => {
    const { service, input } = await approvedWithGrant();
    expect(await service.findGrant({ ...input, facts: { ...input.facts, categories: ['ddl', 'grant'] } })).toBeNull();
  });

  it('a grant stored without rule and categories (an older record) covers nothing', () => {
    const legacy = { id: 'g', requestId: 'r', fingerprint: 'f', actorKey: 'a|b', database: 'd', approvedBy: ['x'], expiresAt: '2999-01-01T00:00:00Z' };
    expect(grantCovers(legacy, 'ddl', ['ddl'])).toBe(false);
    expect(grantCovers({ ...legacy, rule: 'ddl', categories: ['ddl'] }, 'ddl', ['ddl'])).toBe(true);
    expect(grantCovers({ ...legacy, rule: 'ddl', categories: ['ddl'] }, 'ddl', ['ddl', 'privileged'])).toBe(false);
    expect(grantCovers({ ...legacy, rule: null, categories: ['ddl'] }, 'ddl', ['ddl'])).toBe(false);
  });
});
