// audit.required on a disk that fills up under a real `pgwarden serve`: every statement that ran has its
// statement_allowed record, every refused one (58000) is recorded as refused or not at all — never as allowed.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import pg from 'pg';
import { pgUrl } from '../helpers/env.js';
import { auditRecords, buildOnce, eventually, SmallDisk, startWarden, verifyCli, type Warden } from './warden-process.js';

const TABLE = 'fault_strict_audit';
let disk: SmallDisk;
let warden: Warden | null = null;
let admin: pg.Client;

beforeAll(async () => {
  buildOnce();
  admin = new pg.Client(pgUrl());
  await admin.connect();
  await admin.query(`DROP TABLE IF EXISTS ${TABLE}; CREATE TABLE ${TABLE} (id int PRIMARY KEY)`);
  disk = new SmallDisk(1024);
});
afterAll(async () => {
  await warden?.stop('SIGKILL');
  disk?.unmount();
  await admin?.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await admin?.end();
});

const idOf = (r: Record<string, unknown>): number | null => {
  const m = new RegExp(`INSERT INTO ${TABLE} VALUES \\((\\d+)\\)`).exec(String(r.sql ?? ''));
  return m ? Number(m[1]) : null;
};

it('records a statement refused for a full disk as refused, never as allowed, and the chain verifies', async () => {
  const file = join(disk.dir, 'audit.jsonl');
  warden = await startWarden({ config: { audit: { file, required: true } } });
  expect(warden.logs.some((l) => l.msg === 'pgwarden is serving')).toBe(true);

  // Leave room for a few dozen records, then 300 inserts: the disk fills part way through.
  disk.fill(24 * 1024);
  const ran: number[] = [];
  const refused: number[] = [];
  const other: string[] = [];
  const clients = await Promise.all([0, 1, 2].map(async () => {
    const c = new pg.Client(warden!.url());
    await c.connect();
    return c;
  }));
  await Promise.all(
    clients.map(async (c, k) => {
      for (let i = k * 100 + 1; i <= k * 100 + 100; i++) {
        try {
          await c.query(`INSERT INTO ${TABLE} VALUES (${i})`);
          ran.push(i);
        } catch (err) {
          const e = err as pg.DatabaseError;
          if (e.code === '58000' && e.message.startsWith('pgwarden: the audit record for this statement could not be written')) refused.push(i);
          else other.push(`${i}: ${e.code} ${e.message}`);
        }
      }
    }),
  );
  await Promise.all(clients.map((c) => c.end()));
  expect(other).toEqual([]);
  expect(ran.length).toBeGreaterThan(0);
  expect(refused.length).toBeGreaterThan(100);

  // Server side: exactly the statements that were let through ran.
  const rows = (await admin.query(`SELECT id FROM ${TABLE} ORDER BY id`)).rows.map((r: { id: number }) => r.id);
  expect(rows).toEqual([...ran].sort((a, b) => a - b));

  // Space returns: the refusals kept in memory are written by the retry timer, with no new traffic.
  disk.free();
  await eventually(() => auditRecords(file).filter((r) => r.event === 'statement_refused').length === refused.length, 15_000, 'every refusal recorded');
  expect(await warden.stop('SIGTERM')).toBe(0);

  const records = auditRecords(file);
  const allowedIds = records.filter((r) => r.event === 'statement_allowed').map(idOf).sort((a, b) => a! - b!);
  const refusedIds = records.filter((r) => r.event === 'statement_refused').map(idOf).sort((a, b) => a! - b!);
  expect(allowedIds).toEqual(rows);
  expect(refusedIds).toEqual([...refused].sort((a, b) => a - b));
  expect(records.find((r) => r.event === 'statement_refused')).toMatchObject({ reason: expect.stringMatching(/could not be written \(.*ENOSPC|audit file is failing/) });
  const verified = verifyCli([file]);
  expect(verified.code).toBe(0);
  expect(verified.result).toMatchObject({ ok: true, records: records.length });
});
