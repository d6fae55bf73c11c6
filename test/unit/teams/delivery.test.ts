// Bot Connector calls: retried as Microsoft asks (exponential backoff with jitter; 429 waits at least Retry-After;
// 412/502/504 retried; other statuses not), one at a time per conversation, every failed attempt counted by status.
import { describe, expect, it } from 'vitest';
import { ConnectorCaller, retryAfterMs, statusLabel, statusOf } from '../../../src/approvals/channels/teams/delivery.js';

/** An error shaped like the SDK's (axios): response.status and response.headers. */
function httpError(status: number, headers: Record<string, string> = {}): Error {
  return Object.assign(new Error(`Request failed with status code ${status}`), { response: { status, headers } });
}

function harness(options: { random?: number } = {}) {
  const waits: number[] = [];
  const failures: string[] = [];
  const caller = new ConnectorCaller({
    policy: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 60_000 },
    random: () => options.random ?? 0.5,
    sleep: async (ms) => void waits.push(ms),
    onFailure: (status) => failures.push(status),
  });
  return { caller, waits, failures };
}

/** A call that fails with the given errors in turn, then answers `ok`. */
function flaky(errors: Error[]): { call: () => Promise<string>; attempts: () => number } {
  let n = 0;
  return {
    call: async () => {
      const err = errors[n++];
      if (err) throw err;
      return 'ok';
    },
    attempts: () => n,
  };
}

const post = { conversationId: '19:c@thread.tacv2', what: 'post card', idempotent: false };

describe('ConnectorCaller', () => {
  it('waits at least Retry-After after a 429, then succeeds', async () => {
    const { caller, waits, failures } = harness({ random: 0 });
    const f = flaky([httpError(429, { 'retry-after': '3' })]);
    await expect(caller.run(post, f.call)).resolves.toBe('ok');
    expect(f.attempts()).toBe(2);
    expect(waits).toEqual([3000]);
    expect(failures).toEqual(['429']);
  });

  it('adds jitter on top of Retry-After so instances do not come back in step', async () => {
    const { caller, waits } = harness({ random: 0.9 });
    await caller.run(post, flaky([httpError(429, { 'retry-after': '2' })]).call);
    expect(waits[0]).toBeGreaterThan(2000);
    expect(waits[0]).toBeLessThanOrEqual(2100);
  });

  it('backs off exponentially with jitter on 412, 502 and 504', async () => {
    const { caller, waits, failures } = harness({ random: 1 });
    const f = flaky([httpError(412), httpError(502), httpError(504)]);
    await expect(caller.run(post, f.call)).resolves.toBe('ok');
    expect(f.attempts()).toBe(4);
    expect(waits).toEqual([100, 200, 400]);
    expect(failures).toEqual(['412', '502', '504']);
    const half = harness({ random: 0.5 });
    await half.caller.run(post, flaky([httpError(502), httpError(502)]).call);
    expect(half.waits).toEqual([50, 100]);
  });

  it('caps the backoff at maxDelayMs and gives up after maxAttempts with the last error', async () => {
    const { caller, waits, failures } = harness({ random: 1 });
    const f = flaky(Array.from({ length: 10 }, () => httpError(504)));
    await expect(caller.run(post, f.call)).rejects.toThrow(/504/);
    expect(f.attempts()).toBe(5);
    expect(waits).toEqual([100, 200, 400, 800]);
    expect(failures).toHaveLength(5);
  });

  it('does not retry other statuses (401, 403, 404, 413, 500)', async () => {
    for (const status of [401, 403, 404, 413, 500]) {
      const { caller, waits, failures } = harness();
      const f = flaky([httpError(status)]);
      await expect(caller.run(post, f.call)).rejects.toThrow(String(status));
      expect(f.attempts(), String(status)).toBe(1);
      expect(waits).toEqual([]);
      expect(failures).toEqual([String(status)]);
    }
  });

  it('gives up at once when Retry-After is longer than maxRetryAfterMs (the card would be stale)', async () => {
    const { caller, waits } = harness();
    const f = flaky([httpError(429, { 'retry-after': '3600' })]);
    await expect(caller.run(post, f.call)).rejects.toThrow(/429/);
    expect(f.attempts()).toBe(1);
    expect(waits).toEqual([]);
  });

  it('retries a network error only for idempotent calls (a POST may have been delivered)', async () => {
    const network = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const a = harness();
    await expect(a.caller.run(post, flaky([network()]).call)).rejects.toThrow(/socket hang up/);
    expect(a.failures).toEqual(['network']);
    const b = harness();
    await expect(b.caller.run({ ...post, what: 'update card', idempotent: true }, flaky([network()]).call)).resolves.toBe('ok');
  });

  it('runs calls to one conversation one at a time, in order, and other conversations alongside', async () => {
    const caller = new ConnectorCaller({ policy: { baseDelayMs: 1 } });
    const log: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const slow = (name: string, ms: number) => async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`end ${name}`);
      inFlight--;
      return name;
    };
    const a1 = caller.run({ ...post, conversationId: 'A' }, slow('a1', 30));
    const a2 = caller.run({ ...post, conversationId: 'A' }, slow('a2', 5));
    const b1 = caller.run({ ...post, conversationId: 'B' }, slow('b1', 5));
    await Promise.all([a1, a2, b1]);
    expect(log.indexOf('end a1')).toBeLessThan(log.indexOf('start a2'));
    expect(log.indexOf('start b1')).toBeLessThan(log.indexOf('end a1'));
    expect(maxInFlight).toBe(2);
  });

  it('keeps the queue going after a failed call', async () => {
    const { caller } = harness();
    await expect(caller.run(post, flaky([httpError(403)]).call)).rejects.toThrow();
    await expect(caller.run(post, async () => 'next')).resolves.toBe('next');
  });
});

describe('reading failed calls', () => {
  it('reads status and Retry-After (seconds or HTTP date) from SDK errors', () => {
    expect(statusOf(httpError(429))).toBe(429);
    expect(statusOf(new Error('no response'))).toBeNull();
    expect(retryAfterMs(httpError(429, { 'retry-after': '1.5' }))).toBe(1500);
    const now = Date.parse('2026-05-01T10:00:00Z');
    expect(retryAfterMs(httpError(429, { 'retry-after': 'Fri, 01 May 2026 10:00:07 GMT' }), now)).toBe(7000);
    expect(retryAfterMs(httpError(429, {}))).toBeNull();
    expect(retryAfterMs(httpError(429, { 'retry-after': 'soon' }))).toBeNull();
  });

  it('labels statuses from a closed set', () => {
    expect(statusLabel(429)).toBe('429');
    expect(statusLabel(418)).toBe('other');
    expect(statusLabel(null)).toBe('network');
  });
});
