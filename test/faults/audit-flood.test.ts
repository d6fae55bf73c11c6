// A flood of padded statements through a real `pgwarden serve` cannot fill the disk through the audit log: texts are
// capped (with the SHA-256 and length of the whole), repeated denials are counted into summaries, the chain verifies.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pgUrl } from '../helpers/env.js';
import { auditRecords, buildOnce, startWarden, verifyCli } from './warden-process.js';

const TABLE = 'fault_flood_audit';
let dir: string;
let admin: pg.Client;

beforeAll(async () => {
  buildOnce();
  dir = mkdtempSync(join(tmpdir(), 'pgw-flood-'));
  admin = new pg.Client(pgUrl());
  await admin.connect();
  await admin.query(`DROP TABLE IF EXISTS ${TABLE}; CREATE TABLE ${TABLE} (id int, note text)`);
});
afterAll(async () => {
  await admin?.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await admin?.end();
  rmSync(dir, { recursive: true, force: true });
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

it('200 denied statements of 256 KiB each (50 MiB) add under 2 MiB to the audit log, all of them accounted for', async () => {
  const rules = join(dir, 'rules.yaml');
  writeFileSync(rules, 'version: 1\ndefaults: { action: allow, on_unknown: deny }\nrules:\n  - { id: privileged, match: { category: [privileged] }, action: deny }\n');
  const file = join(dir, 'audit.jsonl');
  // A window longer than the test: exactly `burst` denials are recorded whole, the rest go into one summary.
  const warden = await startWarden({ config: { rules, audit: { file, denied_flood: { burst: 10, window: '10m' } } } });
  const pad = 'x'.repeat(256 * 1024);
  const padded = `INSERT INTO ${TABLE} VALUES (1, '${pad}')`;
  let denied = 0;
  try {
    const c = new pg.Client(warden.url());
    await c.connect();
    for (let i = 0; i < 200; i++) {
      const err = (await c.query(`SELECT pg_read_file('/etc/hostname') /* ${i} ${pad} */`).catch((e: unknown) => e)) as pg.DatabaseError;
      if (err.code === '42501') denied += 1;
    }
    await c.query(padded);
    await c.end();
  } finally {
    expect(await warden.stop()).toBe(0);
  }
  expect(denied).toBe(200);
  // Server side: the padded insert ran whole.
  expect((await admin.query(`SELECT length(note) AS n FROM ${TABLE}`)).rows[0].n).toBe(pad.length);

  expect(statSync(file).size).toBeLessThan(2 * 1024 * 1024);
  const records = auditRecords(file);
  const one = records.filter((r) => r.event === 'statement_denied');
  const summaries = records.filter((r) => r.event === 'denials_summarized');
  expect(one.length).toBe(10);
  expect(one.length + summaries.reduce((n, r) => n + Number(r.count), 0)).toBe(200);
  for (const r of one) {
    expect(Buffer.byteLength(String(r.sql))).toBeLessThanOrEqual(64 * 1024);
    expect(r.sql_bytes).toBeGreaterThan(256 * 1024);
  }
  const first = `SELECT pg_read_file('/etc/hostname') /* 0 ${pad} */`;
  expect(one[0]).toMatchObject({ sql_sha256: sha256(first), sql_bytes: Buffer.byteLength(first), rule: 'privileged' });
  const insert = records.find((r) => r.event === 'statement_allowed' && String(r.sql).startsWith(`INSERT INTO ${TABLE}`))!;
  expect(insert).toMatchObject({ sql_sha256: sha256(padded), sql_bytes: Buffer.byteLength(padded) });
  expect(verifyCli([file])).toMatchObject({ code: 0, result: { ok: true, records: records.length } });
});
