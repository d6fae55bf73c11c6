// Authentication passes through to the server: trust, cleartext, MD5 and SCRAM-SHA-256, with real clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import postgres from 'postgres';
import { startProxy, type TestProxy } from '../../helpers/proxy.js';
import { AUTH_ROLES, ensureAuthRoles } from '../../helpers/pg-roles.js';
import { urlFor } from '../../helpers/env.js';
import { psql } from '../../helpers/cli.js';

let proxy: TestProxy;
beforeAll(async () => {
  await ensureAuthRoles();
  proxy = await startProxy();
});
afterAll(async () => {
  await proxy.close();
});

describe('authentication passthrough', () => {
  it('trust', async () => {
    const c = new pg.Client(urlFor(proxy.port));
    await c.connect();
    expect((await c.query('SELECT current_user AS u')).rows[0].u).toBe('postgres');
    await c.end();
  });

  for (const [method, role] of Object.entries(AUTH_ROLES)) {
    it(`${method}: node-postgres signs in with the right password`, async () => {
      const c = new pg.Client(urlFor(proxy.port, role));
      await c.connect();
      expect((await c.query('SELECT current_user AS u')).rows[0].u).toBe(role.user);
      await c.end();
    });

    it(`${method}: a wrong password gets the server's own 28P01 error`, async () => {
      const c = new pg.Client(urlFor(proxy.port, { user: role.user, password: 'wrong' }));
      const err = (await c.connect().catch((e: unknown) => e)) as pg.DatabaseError;
      expect(err.code).toBe('28P01');
      expect(err.message).toContain(role.user);
    });

    it(`${method}: postgres.js and psql sign in`, async () => {
      const sql = postgres(urlFor(proxy.port, role), { max: 1 });
      expect((await sql`SELECT current_user AS u`)[0]!.u).toBe(role.user);
      await sql.end();
      const out = await psql(urlFor(proxy.port, role), 'SELECT current_user;');
      expect(out.stdout.trim()).toBe(role.user);
    });
  }
});
