// The webhook channel against a local HTTP receiver that verifies Standard Webhooks signatures, with retries, give-up and timeouts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { nullAuditLog } from '../../../src/audit/record.js';
import { createMetrics } from '../../../src/metrics.js';
import { silentLogger } from '../../../src/log.js';
import { Secret } from '../../../src/units.js';
import { createMemoryStore } from '../../../src/approvals/memory-store.js';
import { createApprovalService } from '../../../src/approvals/service.js';
import { createWebhookChannel } from '../../../src/approvals/channels/webhook.js';
import { verifyWebhook } from '../../../src/approvals/channels/webhook-signature.js';
import { makeOpenInput, makeRequest } from '../../unit/approvals/fixtures.js';
import { until } from './redis-helpers.js';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  verified: boolean;
}

const SECRET = 'whsec_c2VjcmV0LWZvci10ZXN0cy0xMjM0NTY3ODkw';

async function receiver(secret: string, answer: (n: number, req: IncomingMessage, res: ServerResponse) => void = (_n, _q, res) => res.end('ok')) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const headers = { 'webhook-id': req.headers['webhook-id'] as string, 'webhook-timestamp': req.headers['webhook-timestamp'] as string, 'webhook-signature': req.headers['webhook-signature'] as string };
      received.push({ headers: req.headers, body, verified: verifyWebhook(secret, headers, body) });
      answer(received.length, req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/pgwarden?token=abc`;
  return { server, url, received, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

describe('webhook channel', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('posts a signed approval.requested with the API shape and links, verifiable by the receiver', async () => {
    const r = await receiver(SECRET);
    cleanups.push(r.close);
    const channel = createWebhookChannel({ urls: [r.url], secret: new Secret(SECRET), maxAttempts: 3, timeoutMs: 2000, publicUrl: 'https://pgw.example.com' });
    cleanups.push(() => channel.close!());
    const request = makeRequest();
    await channel.requested(request);
    expect(r.received).toHaveLength(1);
    const got = r.received[0]!;
    expect(got.verified).toBe(true);
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['webhook-id']).toMatch(/^msg_[a-z2-7]{20}$/);
    const payload = JSON.parse(got.body);
    expect(payload).toMatchObject({
      type: 'approval.requested',
      data: {
        id: request.id,
        status: 'pending',
        sql: request.sql,
        rule: 'ddl',
        rule_reason: request.ruleReason,
        actor: { user: 'agent_bob', application: 'claude', address: '10.0.0.7', owner: 'Carol@Example.com' },
        stated_reason: 'migration 42',
        created_at: request.createdAt,
        expires_at: request.expiresAt,
        decisions: [],
        links: { console: `https://pgw.example.com/#/approvals/${request.id}`, decision: `https://pgw.example.com/api/approvals/${request.id}/decision` },
      },
    });
  });

  it('signs with the raw bytes of a secret that lacks the whsec_ prefix', async () => {
    const r = await receiver('just-a-string');
    cleanups.push(r.close);
    const channel = createWebhookChannel({ urls: [r.url], secret: 'just-a-string', maxAttempts: 1, timeoutMs: 2000 });
    await channel.updated(makeRequest({ status: 'approved' }));
    expect(r.received[0]?.verified).toBe(true);
    expect(JSON.parse(r.received[0]!.body).type).toBe('approval.updated');
  });

  it('retries 5xx with the same webhook-id and a fresh signature until it succeeds', async () => {
    const r = await receiver(SECRET, (n, _q, res) => {
      res.statusCode = n < 3 ? 503 : 204;
      res.end();
    });
    cleanups.push(r.close);
    const channel = createWebhookChannel({ urls: [r.url], secret: SECRET, maxAttempts: 5, timeoutMs: 2000, baseDelayMs: 5 });
    await channel.requested(makeRequest());
    expect(r.received).toHaveLength(3);
    expect(new Set(r.received.map((x) => x.headers['webhook-id'])).size).toBe(1);
    expect(r.received.every((x) => x.verified)).toBe(true);
  });

  it('gives up after max_attempts, does not retry a 4xx, and never leaks the URL query in the error', async () => {
    const failing = await receiver(SECRET, (_n, _q, res) => {
      res.statusCode = 500;
      res.end();
    });
    const refusing = await receiver(SECRET, (_n, _q, res) => {
      res.statusCode = 401;
      res.end();
    });
    cleanups.push(failing.close, refusing.close);
    const channel = createWebhookChannel({ urls: [failing.url, refusing.url], secret: SECRET, maxAttempts: 3, timeoutMs: 2000, baseDelayMs: 5 });
    const error = await channel.requested(makeRequest()).then(() => null, (e: Error) => e);
    expect(error?.message).toMatch(/2 of 2 webhook deliveries/);
    expect(error?.message).toMatch(/HTTP 500/);
    expect(error?.message).toMatch(/HTTP 401/);
    expect(error?.message).not.toMatch(/token=abc/);
    expect(failing.received).toHaveLength(3);
    expect(refusing.received).toHaveLength(1);
  });

  it('abandons an attempt that gets no answer within the timeout and retries', async () => {
    const r = await receiver(SECRET, (n, _q, res) => {
      if (n > 1) res.end('ok');
      // the first request is left hanging
    });
    cleanups.push(r.close);
    const channel = createWebhookChannel({ urls: [r.url], secret: SECRET, maxAttempts: 2, timeoutMs: 100, baseDelayMs: 5 });
    await channel.requested(makeRequest());
    expect(r.received).toHaveLength(2);
  });

  it('refuses to start without a secret', () => {
    expect(() => createWebhookChannel({ urls: ['http://127.0.0.1:1/x'], secret: '', maxAttempts: 1, timeoutMs: 1 })).toThrow(/webhook.secret is required/);
  });

  it('through the service: requested on open, updated on decision, and failures only counted', async () => {
    const r = await receiver(SECRET);
    cleanups.push(r.close);
    const metrics = createMetrics({ processMetrics: false });
    const good = createWebhookChannel({ urls: [r.url], secret: SECRET, maxAttempts: 1, timeoutMs: 2000 });
    const dead = createWebhookChannel({ urls: ['http://127.0.0.1:9/nothing'], secret: SECRET, maxAttempts: 2, timeoutMs: 500, baseDelayMs: 5 });
    const service = createApprovalService({ store: createMemoryStore(), channels: [good, dead], audit: nullAuditLog, metrics, logger: silentLogger, instance: 'a', publicUrl: 'http://pgw', progressIntervalMs: 0 });
    cleanups.push(() => service.close());
    const pending = await service.open(makeOpenInput());
    await service.decide({ id: pending.request.id, by: 'alice@example.com', decision: 'approve', reason: 'ok' });
    expect((await pending.outcome).status).toBe('approved');
    await until(() => r.received.length === 2, 'two deliveries');
    expect(r.received.map((x) => JSON.parse(x.body).type)).toEqual(['approval.requested', 'approval.updated']);
    expect(JSON.parse(r.received[1]!.body).data).toMatchObject({ status: 'approved', decisions: [{ by: 'alice@example.com', decision: 'approve', reason: 'ok', scope: 'once', via: null }] });
    await until(async () => ((await metrics.channelDeliveryFailures.get()).values.find((v) => v.labels.channel === 'webhook')?.value ?? 0) === 2, 'dead URL failures counted');
  });
});
