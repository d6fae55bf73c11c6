// Finding 12: secrets in SQL text (role passwords however they are spelled, user-mapping and server OPTIONS, connection
// strings, keys) reached the audit log, Redis, the API and the console in clear. Through pgwarden with the default rules
// and Redis-backed approvals, none of the secrets below appears in the audit file, any Redis key or value, the API's
// JSON, the rendered console page, or the logs — and the held ALTER ROLE did not change the password.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { decide, waitForPending } from '../helpers/app.js';
import { redisUrl } from '../helpers/env.js';
import { APP_TOKENS } from '../helpers/secrets.js';
import { agent, defaultRules, direct, sqlstateOf, startSqlApp, type SqlTestApp } from './sql-harness.js';

const run = randomBytes(4).toString('hex');
const secret = (n: number) => `pgwsecret${n}x${run}`;
/** `secret(n)` spelled with U& escapes: neither spelling may be stored. */
const escaped = (s: string) => [...s].map((ch) => `\\${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');

const HELD = [
  `ALTER ROLE pgw_victim PASSWORD /* x */ '${secret(1)}'`,
  `ALTER ROLE pgw_victim PASSWORD U&'${escaped(secret(2))}'`,
  `ALTER ROLE pgw_victim ENCRYPTED PASSWORD E'${secret(3)}'`,
  `CREATE FUNCTION pgw_pw() RETURNS void LANGUAGE sql AS $f$ ALTER ROLE pgw_victim PASSWORD '${secret(4)}' $f$`,
];
const DENIED = [
  `CREATE USER MAPPING FOR pgw_victim SERVER pgw_srv OPTIONS (user 'u', "password" '${secret(5)}')`,
  `ALTER SERVER pgw_srv OPTIONS (ADD password '${secret(6)}')`,
  `SELECT dblink_connect('host=127.0.0.1 user=u password=${secret(7)}')`,
  `CREATE SUBSCRIPTION pgw_sub CONNECTION 'host=127.0.0.1 password=${secret(8)}' PUBLICATION p`,
  `DO $$ BEGIN EXECUTE 'ALTER ROLE pgw_victim PASSWORD ''${secret(9)}'''; END $$`,
  `ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 password=${secret(10)}'`,
];
const SECRETS = Array.from({ length: 10 }, (_, i) => secret(i + 1));
const FORBIDDEN = [...SECRETS, escaped(secret(2))];

let app: SqlTestApp;
let redis: Redis;
let admin: pg.Client;
const prefix = `pgw-sql-redact-${run}:`;

beforeAll(async () => {
  app = await startSqlApp({ rules: defaultRules({ timeout: '60s' }), redis: redisUrl(), redisPrefix: prefix, overrides: { 'audit.reads': 'all' } });
  redis = new Redis(redisUrl());
  admin = await direct();
  await admin.query("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgw_victim') THEN CREATE ROLE pgw_victim; END IF; END $$");
  await admin.query('ALTER ROLE pgw_victim PASSWORD NULL');
});

afterAll(async () => {
  await admin.end();
  redis.disconnect();
  await app.close();
});

async function redisDump(): Promise<string> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      out.push(key);
      const type = await redis.type(key);
      if (type === 'string') out.push((await redis.get(key)) ?? '');
      else if (type === 'hash') out.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') out.push(JSON.stringify(await redis.lrange(key, 0, -1)));
      else if (type === 'set') out.push(JSON.stringify(await redis.smembers(key)));
      else if (type === 'zset') out.push(JSON.stringify(await redis.zrange(key, '0', '-1')));
      else if (type === 'stream') out.push(JSON.stringify(await redis.xrange(key, '-', '+')));
    }
  } while (cursor !== '0');
  return out.join('\n');
}

const auth = { headers: { authorization: `Bearer ${APP_TOKENS['alice@example.com']}` } };

describe('secrets in SQL text through the proxy', () => {
  it('reach no store, surface or log; the held ALTER ROLE changes no password', async () => {
    // One connection per held statement: a connection waits for its statement's decision.
    const clients = await Promise.all(HELD.map((_, i) => agent(app, `pgw-sql-held-${i}`)));
    const held = HELD.map((sql, i) => clients[i]!.query(sql).then(() => null, (e: { code: string }) => e.code));
    const pending: { id: string; sql: string }[] = [];
    for (let i = 0; i < HELD.length; i++) pending.push(await waitForPending(app.api, (r) => !pending.some((p) => p.id === r.id)));
    expect(pending.map((p) => p.sql).join('\n')).toContain("'[redacted]'");

    const c2 = await agent(app, 'pgw-sql-denied');
    for (const sql of DENIED) expect(await sqlstateOf(c2, sql), sql).toBe('42501');
    // Read, allowed and audited (audit.reads: all): a key argument of pgcrypto.
    await sqlstateOf(c2, `SELECT pgp_sym_encrypt('data', '${secret(10)}')`);
    await c2.end();

    // The API, while the requests are pending.
    const list = await (await fetch(`${app.api}/api/approvals`, auth)).text();
    const one = await Promise.all(pending.map(async (p) => (await fetch(`${app.api}/api/approvals/${p.id}`, auth)).text()));
    // The console, rendered in a real browser.
    let browser: Browser | undefined;
    let consoleText = '';
    try {
      browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
      const page = await browser.newPage();
      await page.goto(`${app.api}/#token=${APP_TOKENS['alice@example.com']}`);
      await page.locator(`[data-testid=pending-request][data-id="${pending[0]!.id}"]`).waitFor();
      consoleText = `${await page.content()}\n${await page.locator('body').innerText()}`;
    } finally {
      await browser?.close();
    }
    expect(consoleText).toContain('[redacted]');
    const redisText = await redisDump();
    expect(redisText).toContain('[redacted]');

    for (const p of pending) expect((await decide(app.api, p.id, APP_TOKENS['carol@example.com'], 'deny', 'no')).status).toBe(200);
    expect(await Promise.all(held)).toEqual(HELD.map(() => '42501'));
    for (const c of clients) await c.end();
    await app.close().catch(() => {});

    const auditText = readFileSync(app.auditFile, 'utf8');
    expect(auditText).toContain('statement_denied');
    const surfaces = { audit: auditText, redis: redisText, api: [list, ...one].join('\n'), console: consoleText, logs: app.logs.text() };
    for (const [surface, text] of Object.entries(surfaces)) {
      for (const s of FORBIDDEN) expect(text.includes(s), `${surface} contains ${s}`).toBe(false);
    }
    expect((await admin.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'pgw_victim'")).rows[0].rolpassword).toBeNull();
  });
});
