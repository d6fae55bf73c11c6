// audit.required: a statement that needs an audit record is refused when the record cannot be written; reads flow.
import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import { startTestApp, type TestApp } from '../../helpers/app.js';
import { pgUrl, urlFor } from '../../helpers/env.js';

let app: TestApp;
let admin: pg.Client;
beforeAll(async () => {
  admin = new pg.Client(pgUrl());
  await admin.connect();
  await admin.query('DROP TABLE IF EXISTS strict_audit; CREATE TABLE strict_audit (a int)');
  // Every write to /dev/full fails with ENOSPC: the audit destination is "full".
  app = await startTestApp({ overrides: { 'audit.file': '/dev/full', 'audit.required': true } });
});
afterAll(async () => {
  await app.close().catch(() => {});
  await admin.end();
});

it('refuses a write whose audit record cannot be written (58000) and lets reads through', async () => {
  const c = new pg.Client(urlFor(app.port));
  await c.connect();
  expect((await c.query('SELECT count(*)::int AS n FROM strict_audit')).rows[0].n).toBe(0);
  const err = (await c.query('INSERT INTO strict_audit VALUES (1)').catch((e: unknown) => e)) as pg.DatabaseError;
  expect(err.code).toBe('58000');
  expect(err.message).toMatch(/^pgwarden: the audit record for this statement could not be written/);
  expect((await admin.query('SELECT count(*)::int AS n FROM strict_audit')).rows[0].n).toBe(0);
  expect((await c.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  await c.end();
});
