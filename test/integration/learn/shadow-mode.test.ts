// Shadow mode through the proxy with a real PostgreSQL: a shadow deny rule lets the statement run (the server-side effect
// is there) and records what it would have done; switched to enforce by editing the rule file (hot reload), the same
// statement is refused and has no effect.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditFiles } from '../../../src/audit/verify.js';
import { decide, startTestApp, TOKENS, waitForPending, type TestApp } from '../../helpers/app.js';
import { pgUrl, urlFor } from '../../helpers/env.js';

const rulesWith = (mode: 'shadow' | 'enforce') => `
version: 1
defaults: { action: allow, on_unknown: review, review: { approvers: [alice@example.com] } }
rules:
  - id: no-shadow-probe-delete
    mode: ${mode}
    match: { kind: delete, tables: [shadow_probe] }
    action: deny
    message: deleting from shadow_probe is being switched off
  - id: watch-probe-reads
    mode: shadow
    match: { category: read, tables: [shadow_probe] }
    action: review
  - id: no-probe-ddl
    mode: shadow
    match: { kind: create_table, tables: [shadow_ddl_*] }
    action: deny
  - id: ddl
    match: { category: ddl }
    action: review
`;

let app: TestApp;
let admin: pg.Client;
let rulesFile: string;

function auditRecords(): Record<string, any>[] {
  return readFileSync(app.auditFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
}

async function eventually<T>(probe: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const ids = async () => (await admin.query('SELECT id FROM shadow_probe ORDER BY id')).rows.map((r) => r.id as number);

beforeAll(async () => {
  admin = new pg.Client(pgUrl());
  await admin.connect();
  await admin.query('DROP TABLE IF EXISTS shadow_probe, shadow_ddl_1');
  await admin.query('CREATE TABLE shadow_probe (id int PRIMARY KEY)');
  await admin.query('INSERT INTO shadow_probe VALUES (1), (2), (3)');
  app = await startTestApp({ rules: rulesWith('shadow') });
  rulesFile = join(dirname(app.auditFile), 'rules.yaml');
});
afterAll(async () => {
  await app?.close();
  await admin.query('DROP TABLE IF EXISTS shadow_probe, shadow_ddl_1');
  await admin.end();
});

describe('shadow mode end to end', () => {
  it('a shadow deny rule lets the DELETE run, records the shadow verdict, counts it; after a reload to enforce the same DELETE is refused and deletes nothing', async () => {
    const c = new pg.Client(urlFor(app.port, { application: 'shadow-test' }));
    c.on('error', () => {});
    await c.connect();

    const ran = await c.query('DELETE FROM shadow_probe WHERE id = 1');
    expect(ran.rowCount).toBe(1);
    expect(await ids()).toEqual([2, 3]);
    const shadowed = await eventually(() => auditRecords().find((r) => r.sql === 'DELETE FROM shadow_probe WHERE id = 1'), 'the audit record of the shadowed DELETE');
    expect(shadowed).toMatchObject({
      event: 'statement_allowed',
      action: 'allow',
      rule: null,
      shadow: { action: 'deny', rule: 'no-shadow-probe-delete', reason: 'deleting from shadow_probe is being switched off', source: 'policy' },
    });
    expect(await app.metrics.registry.getSingleMetricAsString('pgwarden_shadow_verdicts_total')).toContain('pgwarden_shadow_verdicts_total{rule="no-shadow-probe-delete",action="deny"} 1');

    // Hot reload by editing the file (fs.watch), as an operator would; the DELETE is sent once, after the reload.
    writeFileSync(rulesFile, rulesWith('enforce'));
    await eventually(async () => /result="ok"} [1-9]/.test(await app.metrics.registry.getSingleMetricAsString('pgwarden_rules_reloads_total')), 'the rules reload');
    const refused = (await c.query('DELETE FROM shadow_probe WHERE id = 2').catch((e: unknown) => e)) as pg.DatabaseError;
    expect(refused.code).toBe('42501');
    expect(refused.message).toContain('deleting from shadow_probe is being switched off');
    expect(await ids()).toEqual([2, 3]);
    const denied = await eventually(() => auditRecords().find((r) => r.event === 'statement_denied' && r.sql === 'DELETE FROM shadow_probe WHERE id = 2'), 'the deny record');
    expect(denied).toMatchObject({ action: 'deny', rule: 'no-shadow-probe-delete' });
    expect(denied.shadow).toBeUndefined();
    await c.end();
  });

  it('a read with a shadow verdict is recorded although audit.reads is none; a read without one is not', async () => {
    const c = new pg.Client(urlFor(app.port));
    await c.connect();
    expect((await c.query('SELECT count(*)::int AS n FROM shadow_probe')).rows[0].n).toBe(2);
    await c.query('SELECT 42 AS unwatched');
    await c.end();
    const read = await eventually(() => auditRecords().find((r) => r.sql === 'SELECT count(*)::int AS n FROM shadow_probe'), 'the shadowed read');
    expect(read).toMatchObject({ event: 'statement_read', action: 'allow', shadow: { action: 'review', rule: 'watch-probe-reads' } });
    expect(auditRecords().some((r) => r.sql === 'SELECT 42 AS unwatched')).toBe(false);
  });

  it('a held statement gets a statement_shadow record; the approved statement runs', async () => {
    const c = new pg.Client(urlFor(app.port));
    c.on('notice', () => {});
    await c.connect();
    const pending = c.query('CREATE TABLE shadow_ddl_1 (id int)');
    const req = await waitForPending(app.api, (r) => r.sql.includes('shadow_ddl_1'));
    expect((await decide(app.api, req.id, TOKENS['alice@example.com'], 'approve')).status).toBe(200);
    await pending;
    expect((await admin.query("SELECT to_regclass('shadow_ddl_1') AS t")).rows[0].t).not.toBeNull();
    const rec = await eventually(() => auditRecords().find((r) => r.event === 'statement_shadow'), 'the statement_shadow record');
    expect(rec).toMatchObject({ sql: 'CREATE TABLE shadow_ddl_1 (id int)', action: 'review', rule: 'ddl', shadow: { action: 'deny', rule: 'no-probe-ddl' } });
    await c.end();
  });

  it('records with the new fields keep the hash chain verifiable', async () => {
    await eventually(() => auditRecords().some((r) => r.event === 'approved'), 'the approved record');
    const result = await verifyAuditFiles([app.auditFile]);
    expect(result.ok).toBe(true);
  });
});
