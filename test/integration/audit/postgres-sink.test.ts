import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { HashChain } from '../../../src/audit/chain.js';
import { createPostgresSink } from '../../../src/audit/postgres-sink.js';
import { createAuditLog } from '../../../src/audit/writer.js';
import { serializeRecord, type AuditRecord } from '../../../src/audit/record.js';
import { createMetrics } from '../../../src/metrics.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { startOwnPostgres, type OwnPostgres } from './own-postgres.js';

let db: OwnPostgres;
let spoolRoot: string;

beforeAll(async () => {
  db = await startOwnPostgres();
  spoolRoot = mkdtempSync(join(tmpdir(), 'pgw-spool-'));
}, 60_000);
afterAll(() => {
  db?.destroy();
  if (spoolRoot) rmSync(spoolRoot, { recursive: true, force: true });
});

function records(chain: HashChain, n: number): AuditRecord[] {
  return Array.from({ length: n }, () => chain.next({ ts: new Date().toISOString(), instance: 'sink-test', event: 'statement_denied', sql: 'DROP TABLE t', rule: 'no-ddl' }));
}

async function query<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

async function eventually(check: () => Promise<boolean> | boolean, what: string, ms = 45_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Postgres audit sink', () => {
  it('survives the database restarting mid-stream: every record arrives exactly once', async () => {
    const table = 'audit_restart';
    const metrics = createMetrics({ processMetrics: false });
    const logs = captureLogs();
    const sink = await createPostgresSink({ url: db.url, table, batch_size: 25, flush_interval: 20, spool_dir: join(spoolRoot, 'a'), instance: 'sink-test', logger: logs.logger, metrics });
    const chain = new HashChain();
    const all: AuditRecord[] = [];
    const stream = async (n: number) => {
      for (const r of records(chain, n)) {
        all.push(r);
        sink.add(r);
        await sleep(1);
      }
    };

    await stream(150);
    await eventually(async () => Number((await query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n) > 0, 'first inserts');
    db.stop();
    await stream(150); // the database is down: these go to the spool
    await sink.flush();
    expect(await metrics.registry.getSingleMetricAsString('pgwarden_audit_failures_total')).toMatch(/sink="postgres"} [1-9]/);
    db.start();
    await stream(150);
    await eventually(() => sink.isSettled(), 'the spool to drain');
    await sink.close();

    const rows = await query<{ hash: string; seq: string; record: object }>(`SELECT hash, seq, record FROM ${table} ORDER BY seq`);
    expect(rows).toHaveLength(all.length);
    expect(rows.map((r) => Number(r.seq))).toEqual(all.map((r) => r.seq));
    expect(new Set(rows.map((r) => r.hash)).size).toBe(all.length);
    // The jsonb column re-serialises to the exact line the file holds, so the table can be verified too.
    expect(serializeRecord(rows[200]!.record)).toBe(serializeRecord(all[200]!));
    expect(logs.text()).toContain('records are spooled to disk');
    expect(logs.text()).not.toContain(db.url);
  }, 120_000);

  it('replays a spool left by a previous run, without duplicating records already in the table', async () => {
    const table = 'audit_replay';
    const spoolDir = join(spoolRoot, 'b');
    const logs = captureLogs();
    const chain = new HashChain();
    const first = records(chain, 40);
    const second = records(chain, 40);

    const s1 = await createPostgresSink({ url: db.url, table, batch_size: 100, flush_interval: 20, spool_dir: spoolDir, instance: 'x', logger: logs.logger });
    for (const r of first) s1.add(r);
    await s1.flush();
    db.stop();
    for (const r of second) s1.add(r);
    await s1.close(); // database down: the second half stays in the spool
    // A crash between insert and spool deletion leaves already-inserted records in the spool too.
    writeFileSync(join(spoolDir, '000000000000001-1.replay.jsonl'), first.slice(0, 10).map((r) => `${serializeRecord(r)}\n`).join(''));
    db.start();

    const s2 = await createPostgresSink({ url: db.url, table, batch_size: 100, flush_interval: 20, spool_dir: spoolDir, instance: 'x', logger: logs.logger });
    await eventually(() => s2.isSettled(), 'the leftover spool to be replayed');
    await s2.close();
    const rows = await query<{ seq: string }>(`SELECT seq FROM ${table} ORDER BY seq`);
    expect(rows.map((r) => Number(r.seq))).toEqual([...first, ...second].map((r) => r.seq));
  }, 120_000);

  it('appendDurable-style adds resolve once the record is in the table or spooled', async () => {
    const table = 'audit_durable';
    const logs = captureLogs();
    const sink = await createPostgresSink({ url: db.url, table, batch_size: 10, flush_interval: 1000, spool_dir: join(spoolRoot, 'c'), instance: 'x', logger: logs.logger });
    const [r] = records(new HashChain(), 1);
    await sink.addDurable(r!);
    expect(await query(`SELECT 1 FROM ${table} WHERE hash = '${r!.hash}'`)).toHaveLength(1);
    await sink.close();
  });

  it('serves createAuditLog with no file: appendDurable resolves once the record is in the table', async () => {
    const logs = captureLogs();
    const log = await createAuditLog({
      file: null,
      redactLiterals: false,
      reads: 'none',
      readSampleRate: 0,
      postgres: { url: db.url, table: 'audit_writer', batch_size: 50, flush_interval: 1000, spool_dir: join(spoolRoot, 'd') },
      logger: logs.logger,
      instance: 'writer',
    });
    await log.appendDurable({ event: 'statement_denied', sql: 'DROP TABLE x', rule: 'no-ddl' });
    const rows = await query<{ seq: string; event: string }>(`SELECT seq, event FROM audit_writer`);
    expect(rows).toEqual([{ seq: '1', event: 'statement_denied' }]);
    await log.close();
  });
});
