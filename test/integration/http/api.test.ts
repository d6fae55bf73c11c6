// The HTTP API contract (DESIGN.md) against a real server on port 0 and the real approval service and memory store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pendingRequest, startServer, TOKENS, type TestServer } from './fixtures.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  await srv.close();
});

const auth = (who: keyof typeof TOKENS) => ({ Authorization: `Bearer ${TOKENS[who]}` });
function decide(id: string, who: keyof typeof TOKENS, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${srv.url}/api/approvals/${id}/decision`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...auth(who), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error.code).toBe('string');
  expect(typeof body.error.message).toBe('string');
  return body.error;
}

describe('health and metrics', () => {
  it('answers /healthz with 200 {"status":"ok"}', async () => {
    const res = await fetch(`${srv.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('serves pgwarden_* metrics in Prometheus text format', async () => {
    const res = await fetch(`${srv.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^# HELP pgwarden_approval_requests_total /m);
    expect(text).toMatch(/^# TYPE pgwarden_statements_total counter/m);
  });

  it('answers /readyz 503 naming the probes that failed, 200 when all pass', async () => {
    let upstream = false;
    const s = await startServer({
      readiness: {
        upstream: () => upstream,
        redis: async () => {
          throw new Error('ECONNREFUSED');
        },
        rules: () => true,
      },
    });
    try {
      const res = await fetch(`${s.url}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: 'not_ready', failed: ['upstream', 'redis'], checks: { upstream: 'failed', redis: 'failed', rules: 'ok' } });
      upstream = true;
      const ok = await startServer({ readiness: { upstream: () => upstream, rules: async () => true } });
      try {
        const res2 = await fetch(`${ok.url}/readyz`);
        expect(res2.status).toBe(200);
        expect(await res2.json()).toEqual({ status: 'ready', checks: { upstream: 'ok', rules: 'ok' } });
      } finally {
        await ok.close();
      }
    } finally {
      await s.close();
    }
  });

  it('answers unknown paths 404 and wrong methods 405 with Allow, as JSON errors', async () => {
    const res = await fetch(`${srv.url}/nope`);
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe('not_found');
    const res2 = await fetch(`${srv.url}/healthz`, { method: 'DELETE' });
    expect(res2.status).toBe(405);
    expect(res2.headers.get('allow')).toBe('GET');
    expect((await errorOf(res2)).code).toBe('method_not_allowed');
  });
});

describe('authentication', () => {
  it('refuses API reads without a token: 401 with WWW-Authenticate: Bearer', async () => {
    const res = await fetch(`${srv.url}/api/approvals`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await errorOf(res)).code).toBe('unauthorized');
  });

  it('refuses a wrong token on reads and decisions', async () => {
    const res = await fetch(`${srv.url}/api/approvals`, { headers: { Authorization: 'Bearer not-a-token' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const res2 = await fetch(`${srv.url}/api/approvals/apr_x/decision`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from('alice:x').toString('base64')}`, 'Content-Type': 'application/json' },
      body: '{"decision":"approve"}',
    });
    expect(res2.status).toBe(401);
  });
});

describe('reading requests', () => {
  it('lists requests by status with the contract fields', async () => {
    const req = pendingRequest();
    await srv.store.create(req);
    const res = await fetch(`${srv.url}/api/approvals?status=pending`, { headers: auth('alice@example.com') });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { approvals: Record<string, unknown>[] };
    const found = body.approvals.find((a) => a.id === req.id);
    expect(found).toMatchObject({
      id: req.id,
      status: 'pending',
      sql: req.sql,
      categories: ['read', 'export'],
      rule: 'exports',
      actor: { user: 'agent_reporting', application: 'claude-code', address: '10.20.4.17' },
      database: 'app_production',
      created_at: req.createdAt,
      expires_at: req.expiresAt,
      decisions: [],
    });
    expect(body.approvals.every((a) => a.status === 'pending')).toBe(true);
  });

  it('rejects an unknown status filter with 400 naming the allowed values', async () => {
    const res = await fetch(`${srv.url}/api/approvals?status=open`, { headers: auth('alice@example.com') });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toMatch(/unknown status 'open'.*pending, approved, denied, expired, withdrawn/);
  });

  it('reads one request, and 404s an unknown id', async () => {
    const req = pendingRequest();
    await srv.store.create(req);
    const res = await fetch(`${srv.url}/api/approvals/${req.id}`, { headers: auth('bob@example.com') });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { id: string }).id).toBe(req.id);
    const missing = await fetch(`${srv.url}/api/approvals/apr_doesnotexist`, { headers: auth('bob@example.com') });
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).code).toBe('not_found');
  });
});

describe('deciding', () => {
  it('approves: 200 with the request after the decision', async () => {
    const req = pendingRequest();
    await srv.store.create(req);
    const res = await decide(req.id, 'alice@example.com', { decision: 'approve', reason: 'finance asked for it', scope: 'once' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; decisions: { by: string; decision: string; reason: string; at: string; via: string }[] };
    expect(body.status).toBe('approved');
    expect(body.decisions).toHaveLength(1);
    expect(body.decisions[0]).toMatchObject({ by: 'alice@example.com', decision: 'approve', reason: 'finance asked for it', via: 'api' });
    expect(Number.isNaN(Date.parse(body.decisions[0]!.at))).toBe(false);
  });

  it('refuses self-approval with 403', async () => {
    const req = pendingRequest({ approvers: [] });
    await srv.store.create(req);
    const res = await decide(req.id, 'agent_reporting', { decision: 'approve', reason: 'trust me' });
    expect(res.status).toBe(403);
    const err = await errorOf(res);
    expect(err.code).toBe('self_approval');
    expect(err.message).toMatch(/agent_reporting requested/);
    expect((await srv.store.get(req.id))?.status).toBe('pending');
  });

  it('refuses an identity that is not an approver for the rule with 403', async () => {
    const req = pendingRequest();
    await srv.store.create(req);
    const res = await decide(req.id, 'mallory@example.com', { decision: 'deny', reason: 'no' });
    expect(res.status).toBe(403);
    const err = await errorOf(res);
    expect(err.code).toBe('not_approver');
    expect(err.message).toMatch(/not an approver for rule exports/);
  });

  it('answers 409 to a second decision, naming the first', async () => {
    const req = pendingRequest();
    await srv.store.create(req);
    expect((await decide(req.id, 'alice@example.com', { decision: 'deny', reason: 'use the aggregated view' })).status).toBe(200);
    const res = await decide(req.id, 'bob@example.com', { decision: 'approve' });
    expect(res.status).toBe(409);
    const err = await errorOf(res);
    expect(err.code).toBe('already_decided');
    expect(err.message).toMatch(/already denied by alice@example\.com \(use the aggregated view\)/);
  });

  it('404s a decision on an unknown id', async () => {
    const res = await decide('apr_unknown', 'alice@example.com', { decision: 'approve' });
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe('not_found');
  });

  it('repeats the first result for a repeated Idempotency-Key instead of 409', async () => {
    const req = pendingRequest();
    await srv.store.create(req);
    const headers = { 'Idempotency-Key': 'webhook-delivery-42' };
    const first = await decide(req.id, 'bob@example.com', { decision: 'approve', reason: 'ok', via: 'webhook' }, headers);
    expect(first.status).toBe(200);
    const again = await decide(req.id, 'bob@example.com', { decision: 'approve', reason: 'ok', via: 'webhook' }, headers);
    expect(again.status).toBe(200);
    const body = (await again.json()) as { status: string; decisions: { via: string }[] };
    expect(body.status).toBe('approved');
    expect(body.decisions).toHaveLength(1);
    expect(body.decisions[0]!.via).toBe('webhook');
    const other = await decide(req.id, 'bob@example.com', { decision: 'approve' }, { 'Idempotency-Key': 'another' });
    expect(other.status).toBe(409);
  });

  it('keys Idempotency-Key per approver: a deny sent with the key another approver used is recorded, not dropped', async () => {
    const req = pendingRequest({ quorum: 2 });
    await srv.store.create(req);
    const key = { 'Idempotency-Key': 'shared-key-1' };
    const alice = await decide(req.id, 'alice@example.com', { decision: 'approve', reason: 'fine' }, key);
    expect(alice.status).toBe(200);
    expect(((await alice.json()) as { status: string }).status).toBe('pending');
    const bob = await decide(req.id, 'bob@example.com', { decision: 'deny', reason: 'not on prod' }, key);
    expect(bob.status).toBe(200);
    expect(bob.headers.get('idempotent-replayed')).toBeNull();
    const body = (await bob.json()) as { status: string; decisions: { by: string; decision: string }[] };
    expect(body.status).toBe('denied');
    expect(body.decisions.map((d) => [d.by, d.decision])).toEqual([
      ['alice@example.com', 'approve'],
      ['bob@example.com', 'deny'],
    ]);
    expect((await srv.store.get(req.id))?.status).toBe('denied');
  });

  it('replays the same approver’s key with Idempotent-Replayed, and answers 422 when the body changed', async () => {
    const req = pendingRequest({ quorum: 2 });
    await srv.store.create(req);
    const key = { 'Idempotency-Key': 'delivery-99' };
    expect((await decide(req.id, 'alice@example.com', { decision: 'approve', reason: 'ok', scope: 'once' }, key)).status).toBe(200);
    const replay = await decide(req.id, 'alice@example.com', { decision: 'approve', reason: 'ok', scope: 'once' }, key);
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const changed = await decide(req.id, 'alice@example.com', { decision: 'deny', reason: 'ok' }, key);
    expect(changed.status).toBe(422);
    const err = await errorOf(changed);
    expect(err.code).toBe('idempotency_key_reused');
    expect(err.message).toMatch(/different decision, reason or scope/);
    const stored = await srv.store.get(req.id);
    expect(stored?.status).toBe('pending');
    expect(stored?.decisions).toHaveLength(1);
  });

  it('authenticates before looking at the Idempotency-Key: an unknown token with a used key is 401', async () => {
    const req = pendingRequest();
    await srv.store.create(req);
    const key = { 'Idempotency-Key': 'k-auth' };
    expect((await decide(req.id, 'alice@example.com', { decision: 'approve' }, key)).status).toBe(200);
    const res = await fetch(`${srv.url}/api/approvals/${req.id}/decision`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer not-a-token', ...key },
      body: JSON.stringify({ decision: 'approve' }),
    });
    expect(res.status).toBe(401);
  });

  it('answers 400 saying what is wrong with the body', async () => {
    const req = pendingRequest();
    await srv.store.create(req);
    const cases: [unknown, RegExp][] = [
      ['{"decision": approve}', /not valid JSON/],
      ['[]', /must be a JSON object/],
      [{ decision: 'maybe' }, /'decision' must be "approve" or "deny", got "maybe"/],
      [{ reason: 'x' }, /'decision' must be "approve" or "deny", got nothing/],
      [{ decision: 'approve', reason: 7 }, /'reason' must be a string/],
      [{ decision: 'approve', scope: 'forever' }, /'scope' must be "once" or "fingerprint"/],
      [{ decision: 'approve', reasons: 'typo' }, /unknown field 'reasons'/],
    ];
    for (const [body, message] of cases) {
      const res = await decide(req.id, 'alice@example.com', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await errorOf(res)).message).toMatch(message);
    }
    const text = await fetch(`${srv.url}/api/approvals/${req.id}/decision`, { method: 'POST', headers: { ...auth('alice@example.com'), 'Content-Type': 'text/plain' }, body: 'approve' });
    expect(text.status).toBe(415);
    expect((await srv.store.get(req.id))?.status).toBe('pending');
  });

  it('answers 413 to a body over the limit', async () => {
    const req = pendingRequest();
    await srv.store.create(req);
    const res = await decide(req.id, 'alice@example.com', { decision: 'approve', reason: 'x'.repeat(100 * 1024) });
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe('payload_too_large');
    expect((await srv.store.get(req.id))?.status).toBe('pending');
  });

  it('refuses a browser POST from another origin even with a valid token', async () => {
    const req = pendingRequest();
    await srv.store.create(req);
    const res = await decide(req.id, 'alice@example.com', { decision: 'approve' }, { Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' });
    expect(res.status).toBe(403);
    expect((await errorOf(res)).code).toBe('csrf_rejected');
    expect((await srv.store.get(req.id))?.status).toBe('pending');
  });

  it('never decides on a GET', async () => {
    const req = pendingRequest();
    await srv.store.create(req);
    const res = await fetch(`${srv.url}/api/approvals/${req.id}/decision?decision=approve`, { headers: auth('alice@example.com') });
    expect(res.status).toBe(405);
    expect((await srv.store.get(req.id))?.status).toBe('pending');
  });
});
