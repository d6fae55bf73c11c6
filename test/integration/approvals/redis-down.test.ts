// Fail closed when the approval store is unreachable: reviews answer 58000 with a clear message, allowed statements flow.
import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { urlFor } from '../../helpers/env.js';

let app: TestApp;
beforeAll(async () => {
  // Nothing listens on port 1: the Redis store never becomes available.
  app = await startTestApp({ redis: 'redis://127.0.0.1:1' });
});
afterAll(async () => {
  await app.close();
});

it('refuses statements that need review with 58000 while reads keep working, and /readyz says why', async () => {
  const c = new pg.Client(urlFor(app.port));
  c.on('notice', () => {});
  await c.connect();
  expect((await c.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  const err = (await c.query('CREATE TABLE never_created_redis_down (a int)').catch((e: unknown) => e)) as pg.DatabaseError;
  expect(err.code).toBe('58000');
  expect(err.message).toMatch(/^pgwarden: approvals are unavailable/);
  expect(err.hint).toContain('Statements the policy allows keep working');
  expect((await c.query('SELECT 2 AS two')).rows[0].two).toBe(2);
  await c.end();
  const ready = await fetch(`${app.api}/readyz`);
  expect(ready.status).toBe(503);
  expect(JSON.stringify(await ready.json())).toContain('redis');
});
