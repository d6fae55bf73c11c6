// A full disk under a real `pgwarden serve` in the default mode (audit.required off): statements keep flowing, failed
// records are counted once each, kept in a byte-bounded backlog and written by the retry timer when space returns
// (no new traffic needed); what cannot be kept is counted and recorded; at SIGTERM the exact number lost is reported.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import pg from 'pg';
import { pgUrl } from '../helpers/env.js';
import { auditRecords, buildOnce, eventually, sleep, SmallDisk, startWarden, verifyCli, type Warden } from './warden-process.js';

const TABLE = 'fault_full_disk_audit';
let disk: SmallDisk;
let admin: pg.Client;
let warden: Warden | null = null;

beforeAll(async () => {
  buildOnce();
  admin = new pg.Client(pgUrl());
  await admin.connect();
  disk = new SmallDisk(1024);
});
afterAll(async () => {
  await warden?.stop('SIGKILL');
  disk?.unmount();
  await admin?.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await admin?.end();
});

async function insert(url: string, from: number, to: number): Promise<void> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    for (let i = from; i <= to; i++) await c.query(`INSERT INTO ${TABLE} VALUES (${i})`);
  } finally {
    await c.end();
  }
}

const ids = (file: string): number[] =>
  auditRecords(file)
    .filter((r) => r.event === 'statement_allowed')
    .map((r) => Number(/VALUES \((\d+)\)/.exec(String(r.sql))?.[1]))
    .sort((a, b) => a - b);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

it('keeps serving, counts records not attempts, writes the backlog on a timer once space returns, and reports what is lost at SIGTERM', async () => {
  await admin.query(`DROP TABLE IF EXISTS ${TABLE}; CREATE TABLE ${TABLE} (id int PRIMARY KEY)`);
  const file = join(disk.dir, 'audit.jsonl');
  warden = await startWarden({ config: { audit: { file } } });
  await insert(warden.url(), 1, 20);

  // 1. Disk full: statements still run (audit.required is off) and each failed record is counted once.
  disk.fill();
  await insert(warden.url(), 21, 400);
  expect((await admin.query(`SELECT count(*)::int AS n FROM ${TABLE}`)).rows[0].n).toBe(400);
  await sleep(2500); // several retries while the disk stays full
  const failures = await warden.metric('pgwarden_audit_failures_total{sink="file"}');
  const onDisk = ids(file).length;
  // Each record that could not be written is counted once, however many retries it has seen.
  expect(failures).toBeGreaterThan(300);
  expect(failures).toBe(400 - onDisk);
  expect(await warden.metric('pgwarden_audit_backlog_bytes')).toBeGreaterThan(0);
  expect(warden.logs.filter((l) => l.msg.startsWith('audit: writing the audit file failed'))).toHaveLength(1);

  // 2. Space returns; no new statement: the retry timer writes the backlog.
  disk.free();
  await eventually(() => ids(file).length === 400, 10_000, 'the backlog written');
  expect(ids(file)).toEqual(range(1, 400));
  await warden.waitForLog((l) => l.msg.startsWith('audit: the audit file accepts writes again'));
  expect(await warden.metric('pgwarden_audit_backlog_bytes')).toBe(0);
  expect(await warden.metric('pgwarden_audit_failures_total{sink="file"}')).toBe(failures);

  // 3. Full again, then SIGTERM: the exact number of records that could not be written is logged and counted.
  disk.fill();
  await insert(warden.url(), 401, 450);
  await sleep(300);
  expect(await warden.stop('SIGTERM')).toBe(0);
  const line = warden.logs.find((l) => l.msg.includes('at shutdown and are lost'))!;
  // The inserts' records that did not reach the file, plus the one `reads_unrecorded` tally written at shutdown (the
  // clients' startup settings are reads the default audit.reads leaves out), which cannot reach the full disk either.
  const lost = 450 - ids(file).length + 1;
  expect(lost).toBeGreaterThan(1);
  expect(line).toMatchObject({ level: 'error', lost_at_shutdown: lost, msg: `audit: ${lost} record(s) could not be written to ${file} at shutdown and are lost` });
  disk.free();
  expect(verifyCli([file])).toMatchObject({ code: 0, result: { ok: true } });
  warden = null;
});

it('bounds the backlog by audit.max_backlog: what does not fit is dropped, counted, and stated in a records_lost record', async () => {
  await admin.query(`DROP TABLE IF EXISTS ${TABLE}; CREATE TABLE ${TABLE} (id int PRIMARY KEY)`);
  const file = join(disk.dir, 'bounded.jsonl');
  warden = await startWarden({ config: { audit: { file, max_backlog: '40KiB' } } });
  await insert(warden.url(), 1, 10);
  await eventually(() => ids(file).length === 10, 5000, 'the first records written');
  disk.fill();
  await insert(warden.url(), 11, 510);
  const dropped = await warden.metric('pgwarden_audit_lost_records_total{sink="file",reason="backlog_full"}');
  expect(dropped).toBeGreaterThan(300);
  expect(await warden.metric('pgwarden_audit_backlog_bytes')).toBeLessThanOrEqual(40 * 1024);
  await warden.waitForLog((l) => l.msg.startsWith('audit: the audit backlog is full'));

  disk.free();
  await eventually(() => auditRecords(file).some((r) => r.event === 'records_lost'), 10_000, 'the records_lost record');
  const records = auditRecords(file);
  const lostRecord = records.find((r) => r.event === 'records_lost')!;
  expect(lostRecord.count).toBe(dropped);
  // Every statement is either recorded or counted as lost: nothing disappears silently.
  expect(ids(file).length + Number(lostRecord.count)).toBe(510);
  expect(await warden.stop('SIGTERM')).toBe(0);
  warden = null;
  const verified = verifyCli([file]);
  expect(verified).toMatchObject({ code: 0, result: { ok: true, records_lost: dropped } });
  expect(verified.stdout).toContain(`note: ${dropped} record(s) were lost while the audit file failed`);
});
