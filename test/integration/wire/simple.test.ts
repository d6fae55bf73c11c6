// Simple query protocol through the proxy with real psql and node-postgres: results, errors, transactions, notices.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startProxy, type TestProxy } from '../../helpers/proxy.js';
import { psql } from '../../helpers/cli.js';
import { pgUrl, urlFor } from '../../helpers/env.js';

let proxy: TestProxy;
beforeAll(async () => {
  proxy = await startProxy();
  const admin = new pg.Client(pgUrl());
  await admin.connect();
  await admin.query('DROP TABLE IF EXISTS wire_simple; CREATE TABLE wire_simple (id int primary key, note text)');
  await admin.end();
});
afterAll(async () => {
  await proxy.close();
});

describe('simple query protocol', () => {
  it('runs several statements in one Query message and returns every result', async () => {
    const client = new pg.Client(urlFor(proxy.port));
    await client.connect();
    const results = (await client.query('SELECT 1 AS a; SELECT 2 AS b; SELECT 3 AS c')) as unknown as pg.QueryResult[];
    expect(results.map((r) => r.rows[0])).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }]);
    await client.end();
  });

  it('relays server errors unchanged and keeps the session usable', async () => {
    const client = new pg.Client(urlFor(proxy.port));
    await client.connect();
    const err = await client.query('SELECT 1/0').catch((e: pg.DatabaseError) => e);
    expect((err as pg.DatabaseError).code).toBe('22012');
    expect((err as pg.DatabaseError).message).toBe('division by zero');
    expect((await client.query('SELECT 42 AS x')).rows).toEqual([{ x: 42 }]);
    await client.end();
  });

  it('psql: an error inside a transaction aborts it and COMMIT rolls back, as against PostgreSQL', async () => {
    const out = await psql(
      urlFor(proxy.port),
      `BEGIN;
INSERT INTO wire_simple VALUES (1, 'kept?');
SELECT 1/0;
INSERT INTO wire_simple VALUES (2, 'after error');
COMMIT;
SELECT count(*) FROM wire_simple;
`,
    );
    expect(out.stderr).toContain('division by zero');
    expect(out.stderr).toContain('current transaction is aborted');
    expect(out.stdout.trim().split('\n').pop()).toBe('0');
  });

  it('psql: multi-statement lines, notices and empty queries', async () => {
    const out = await psql(urlFor(proxy.port), `SELECT 'a' || 'b'; ; DO $$ BEGIN RAISE NOTICE 'hello from server'; END $$;\nSELECT 5;\n`);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('ab');
    expect(out.stdout).toContain('5');
    expect(out.stderr).toContain('hello from server');
  });

  it('psql: cursors work through the proxy', async () => {
    const out = await psql(
      urlFor(proxy.port),
      `BEGIN;
DECLARE c CURSOR FOR SELECT g FROM generate_series(1, 10) g;
FETCH 3 FROM c;
FETCH 2 FROM c;
CLOSE c;
COMMIT;
`,
    );
    expect(out.code).toBe(0);
    expect(out.stdout.split('\n').filter((l) => /^\d+$/.test(l))).toEqual(['1', '2', '3', '4', '5']);
  });

  it('passes startup parameters (application_name, options) to the server unchanged', async () => {
    const client = new pg.Client({ connectionString: urlFor(proxy.port, { application: 'wire-test-app' }), options: '-c search_path=pg_catalog,public' });
    await client.connect();
    const { rows } = await client.query("SELECT current_setting('application_name') AS app, current_setting('search_path') AS sp");
    expect(rows[0]).toEqual({ app: 'wire-test-app', sp: 'pg_catalog,public' });
    expect((client as unknown as { processID: number }).processID).toBeGreaterThan(0);
    await client.end();
  });

  it('relays ParameterStatus changes', async () => {
    const client = new pg.Client(urlFor(proxy.port));
    await client.connect();
    await client.query("SET application_name = 'changed-name'");
    const params = (client as unknown as { connection: { on: (e: string, f: (m: { parameterName: string; parameterValue: string }) => void) => void } }).connection;
    const seen: string[] = [];
    params.on('parameterStatus', (m) => seen.push(`${m.parameterName}=${m.parameterValue}`));
    await client.query("SET application_name = 'again'");
    expect(seen).toContain('application_name=again');
    await client.end();
  });
});
