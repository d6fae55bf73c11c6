// kill -9 of a real `pgwarden serve` under write load: with audit.flush every_record no statement ran without its
// record on disk; with interval, nothing older than the interval is lost. A record cut by the crash (torn tail) is set
// aside at the next start, recorded, and the chain verifies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pgUrl } from '../helpers/env.js';
import { auditRecords, buildOnce, sleep, startWarden, verifyCli } from './warden-process.js';

const TABLE = 'fault_crash_audit';
let admin: pg.Client;
let dir: string;

beforeAll(async () => {
  buildOnce();
  dir = mkdtempSync(join(tmpdir(), 'pgw-crash-'));
  admin = new pg.Client(pgUrl());
  await admin.connect();
});
afterAll(async () => {
  await admin?.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await admin?.end();
  rmSync(dir, { recursive: true, force: true });
});

const idOf = (r: Record<string, unknown>): number | null => {
  const m = new RegExp(`INSERT INTO ${TABLE} VALUES \\((\\d+)\\)`).exec(String(r.sql ?? ''));
  return m ? Number(m[1]) : null;
};

/**
 * 8 clients insert unique ids as fast as they can; after `runMs` pgwarden gets SIGKILL. Returns the kill time and,
 * per id the server acknowledged, when the client saw the acknowledgement.
 */
async function loadThenKill(url: string, pid: number, runMs: number): Promise<{ killedAt: number; acked: Map<number, number> }> {
  const acked = new Map<number, number>();
  let next = 1;
  let killedAt = 0;
  const workers = Array.from({ length: 8 }, async () => {
    const c = new pg.Client(url);
    c.on('error', () => undefined);
    await c.connect();
    for (;;) {
      const id = next++;
      try {
        await c.query(`INSERT INTO ${TABLE} VALUES (${id})`);
        acked.set(id, Date.now());
      } catch {
        return; // the proxy is gone
      }
    }
  });
  await sleep(runMs);
  killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  await Promise.all(workers);
  return { killedAt, acked };
}

describe('kill -9 under write load', () => {
  it('audit.flush every_record: every statement the server ran has its record on disk; the chain continues after a restart', async () => {
    await admin.query(`DROP TABLE IF EXISTS ${TABLE}; CREATE TABLE ${TABLE} (id int PRIMARY KEY)`);
    const file = join(dir, 'every-record.jsonl');
    const config = { audit: { file, flush: { mode: 'every_record' } } };
    const w = await startWarden({ config });
    const { acked } = await loadThenKill(w.url(), w.pid, 1500);
    expect(await w.exited).toBe('SIGKILL');
    const ran = (await admin.query(`SELECT id FROM ${TABLE}`)).rows.map((r: { id: number }) => r.id);
    expect(ran.length).toBeGreaterThan(100);
    expect(acked.size).toBeLessThanOrEqual(ran.length);
    const recorded = new Set(auditRecords(file).filter((r) => r.event === 'statement_allowed').map(idOf));
    expect(ran.filter((id) => !recorded.has(id))).toEqual([]);

    const again = await startWarden({ config });
    const c = new pg.Client(again.url());
    await c.connect();
    await c.query(`INSERT INTO ${TABLE} VALUES (-1)`);
    await c.end();
    expect(await again.stop()).toBe(0);
    const verified = verifyCli([file]);
    expect(verified.code).toBe(0);
    expect(verified.result).toMatchObject({ ok: true, first_seq: 1 });
  });

  it('audit.flush interval (the default): nothing acknowledged more than the interval before the crash is lost', async () => {
    await admin.query(`DROP TABLE IF EXISTS ${TABLE}; CREATE TABLE ${TABLE} (id int PRIMARY KEY)`);
    const file = join(dir, 'interval.jsonl');
    const intervalMs = 200;
    const w = await startWarden({ config: { audit: { file, flush: { mode: 'interval', interval: `${intervalMs}ms` } } } });
    const { killedAt, acked } = await loadThenKill(w.url(), w.pid, 1500);
    expect(await w.exited).toBe('SIGKILL');
    const ran = new Set((await admin.query(`SELECT id FROM ${TABLE}`)).rows.map((r: { id: number }) => r.id));
    const recorded = new Set(auditRecords(file).filter((r) => r.event === 'statement_allowed').map(idOf));
    const old = [...acked].filter(([id, at]) => ran.has(id) && at < killedAt - intervalMs).map(([id]) => id);
    expect(old.length).toBeGreaterThan(100);
    expect(old.filter((id) => !recorded.has(id))).toEqual([]);
    const verified = verifyCli([file]);
    // The file ends on a whole record or a torn one; either way every whole record before it verifies.
    expect(verified.code === 0 || String(verified.stdout).includes('truncated record')).toBe(true);
  });
});

describe('a record cut short by a crash (torn tail)', () => {
  it('is set aside at the next start with a recovered_torn_tail record, and audit verify passes and reports it', async () => {
    await admin.query(`DROP TABLE IF EXISTS ${TABLE}; CREATE TABLE ${TABLE} (id int PRIMARY KEY)`);
    const file = join(dir, 'torn.jsonl');
    const config = { audit: { file } };
    const w = await startWarden({ config });
    const c = new pg.Client(w.url());
    await c.connect();
    for (let i = 1; i <= 5; i++) await c.query(`INSERT INTO ${TABLE} VALUES (${i})`);
    await c.end();
    await sleep(300);
    process.kill(w.pid, 'SIGKILL');
    await w.exited;
    // What a crash (or a full disk) in the middle of a write leaves: the last record cut part way.
    const size = statSync(file).size;
    const lastLine = readFileSync(file, 'utf8').trimEnd().split('\n').pop()!;
    truncateSync(file, size - Math.ceil(lastLine.length / 2));
    const cut = readFileSync(file, 'utf8');
    const tornText = cut.slice(cut.lastIndexOf('\n') + 1);
    expect(tornText.length).toBeGreaterThan(10);
    expect(verifyCli([file]).code).toBe(1);

    const again = await startWarden({ config });
    const recovered = await again.waitForLog((l) => String(l.msg).startsWith('audit: the last line of the audit file was cut short'));
    expect(recovered).toMatchObject({ level: 'warn', fragment_bytes: Buffer.byteLength(tornText), fragment_sha256: createHash('sha256').update(tornText).digest('hex') });
    const c2 = new pg.Client(again.url());
    await c2.connect();
    await c2.query(`INSERT INTO ${TABLE} VALUES (6)`);
    await c2.end();
    expect(await again.stop()).toBe(0);

    const records = auditRecords(file);
    const note = records.find((r) => r.event === 'recovered_torn_tail')!;
    expect(note).toMatchObject({ fragment_sha256: createHash('sha256').update(tornText).digest('hex'), fragment_bytes: Buffer.byteLength(tornText) });
    expect(readFileSync(String(note.side_file), 'utf8')).toBe(tornText);
    expect(readdirSync(dir).filter((n) => n.startsWith('torn.jsonl.torn-'))).toHaveLength(1);
    expect(records.filter((r) => r.event === 'statement_allowed').map(idOf)).toEqual([1, 2, 3, 4, 6]);
    const verified = verifyCli([file]);
    expect(verified.code).toBe(0);
    expect(verified.result).toMatchObject({ ok: true, torn_tails: [{ seq: note.seq, fragment_bytes: Buffer.byteLength(tornText) }] });
    expect(verified.stdout).toMatch(new RegExp(`note: seq ${String(note.seq)} records a torn last line set aside at start \\(${Buffer.byteLength(tornText)} bytes, sha256 [0-9a-f]{64}, kept in `));
  });
});
