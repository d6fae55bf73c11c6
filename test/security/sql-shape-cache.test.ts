// Finding 4: the shape cache reused `read` facts for a text whose UESCAPE character changes which table it names. Through
// pgwarden, priming with UESCAPE '#' (a table that does not exist) and then sending UESCAPE '!' (pg_authid) must not
// return password hashes; the same holds across connections, since the cache is shared.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agent, direct, sqlstateOf, startSqlApp, type SqlTestApp } from './sql-harness.js';

let app: SqlTestApp;
const text = (escape: string) => `SELECT rolname, rolpassword FROM U&"pg_!0061uthid" UESCAPE '${escape}' WHERE rolname = 'postgres'`;

beforeAll(async () => {
  app = await startSqlApp();
});
afterAll(async () => {
  await app.close();
});

describe('shape cache and UESCAPE through the proxy', () => {
  it('the attack is real: run directly, UESCAPE \'!\' reads pg_authid (control)', async () => {
    const c = await direct();
    expect((await c.query(text('!'))).rows).toHaveLength(1);
    await c.end();
  });

  it('a primed cache does not let the pg_authid spelling through, on the same or another connection', async () => {
    const primer = await agent(app);
    // '#' is not the escape character: the table is literally "pg_!0061uthid", which does not exist (42P01 from the server).
    expect(await sqlstateOf(primer, text('#'))).toBe('42P01');
    let rows: unknown[] | null = null;
    const err = await primer.query(text('!')).then((r) => ((rows = r.rows), null), (e: { code: string }) => e.code);
    expect(err).toBe('42501');
    expect(rows).toBeNull();
    const other = await agent(app, 'pgw-sql-other');
    expect(await sqlstateOf(other, text('#'))).toBe('42P01');
    expect(await sqlstateOf(other, text('!'))).toBe('42501');
    await primer.end();
    await other.end();
  });

  it('the extended protocol (Parse/Bind with a literal UESCAPE) is judged the same way', async () => {
    const c = await agent(app);
    expect(await sqlstateOf(c, text('#'), [])).toBe('42P01');
    expect(await sqlstateOf(c, `${text('!')} AND $1::int = 1`, [1])).toBe('42501');
    await c.end();
  });
});
