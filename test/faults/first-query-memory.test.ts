// A fresh `pgwarden serve` stays under its documented peak resident memory (VmHWM) through its first real queries:
// the SQL parser's WebAssembly is never tiered up to TurboFan, which once took it to ~685 MB (src/v8-flags.ts).
import { beforeAll, describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import pg from 'pg';
import { buildOnce, peakRssMiB, REPO, sleep, startWarden } from './warden-process.js';

/** The figure docs/operations.md states for the first query (measured: ~130 MiB; ~680 MiB before the fix). */
const FIRST_QUERY_PEAK_MIB = 256;

beforeAll(() => buildOnce());

const QUERIES = [
  "SELECT relname, relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pg_catalog' LIMIT 5",
  'SELECT count(*) FROM pg_attribute a WHERE a.attnum > 0 GROUP BY a.attrelid ORDER BY 1 DESC LIMIT 3',
  'WITH t AS (SELECT generate_series(1, 10) AS x) SELECT sum(x) FROM t',
];

describe('peak resident memory on the first queries', () => {
  for (const launcher of ['node dist/cli.js serve', 'dist/cli.js serve (the bin, as npx runs it)']) {
    it(`${launcher}: VmHWM stays under ${FIRST_QUERY_PEAK_MIB} MiB`, async () => {
      const execBin = launcher.startsWith('dist/');
      const warden = await startWarden({ execBin, env: { PATH: `${resolve(REPO, 'node_modules/.bin')}:${process.env.PATH ?? ''}` } });
      try {
        const c = new pg.Client(warden.url());
        await c.connect();
        for (const q of QUERIES) await c.query(q);
        // Tier-up compiles on a background thread within about a second of the first hot parse: give it time.
        await sleep(2000);
        for (let i = 0; i < 200; i++) await c.query(`SELECT a.attname FROM pg_attribute a WHERE a.attnum = ${i} LIMIT 1`);
        await sleep(1000);
        await c.end();
        const peak = peakRssMiB(warden.pid);
        expect(peak).toBeGreaterThan(30); // really read from the live process
        expect(peak).toBeLessThan(FIRST_QUERY_PEAK_MIB);
      } finally {
        await warden.stop();
      }
    });
  }
});
