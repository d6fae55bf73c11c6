// Secret redaction from the parse tree: every password-bearing literal, connection string and key argument is replaced
// however it is spelled (comments, U&/E/dollar strings, quoted option names, concatenation, nested bodies), texts
// without secrets come back unchanged, and anything pgwarden cannot map fails closed.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAnalyzer, loadSqlParser } from '../../../src/sql/analyze.js';
import { REDACTED_TEXT, redactSecrets } from '../../../src/sql/redact.js';

beforeAll(async () => {
  await loadSqlParser();
});

describe('redactSecrets', () => {
  it.each([
    ["ALTER ROLE r PASSWORD /* x */ 'hunter2'", "ALTER ROLE r PASSWORD /* x */ '[redacted]'"],
    ["ALTER ROLE r PASSWORD U&'hunt\\0065r2'", "ALTER ROLE r PASSWORD '[redacted]'"],
    ["ALTER ROLE r PASSWORD U&'hunt!0065r2' UESCAPE '!'", "ALTER ROLE r PASSWORD '[redacted]' UESCAPE '!'"],
    ["CREATE ROLE r LOGIN ENCRYPTED PASSWORD 'hunter2' VALID UNTIL '2030-01-01'", "CREATE ROLE r LOGIN ENCRYPTED PASSWORD '[redacted]' VALID UNTIL '2030-01-01'"],
    ["ALTER USER r WITH PASSWORD $$hunter2$$", "ALTER USER r WITH PASSWORD '[redacted]'"],
    ["ALTER ROLE r PASSWORD E'hun\\'ter2'", "ALTER ROLE r PASSWORD '[redacted]'"],
    ["ALTER ROLE r PASSWORD 'a'\n'hunter2'", "ALTER ROLE r PASSWORD '[redacted]'"],
    ["CREATE USER MAPPING FOR r SERVER s OPTIONS (user 'bob', \"password\" 'hunter2')", "CREATE USER MAPPING FOR r SERVER s OPTIONS (user '[redacted]', \"password\" '[redacted]')"],
    ["ALTER USER MAPPING FOR r SERVER s OPTIONS (SET password 'hunter2')", "ALTER USER MAPPING FOR r SERVER s OPTIONS (SET password '[redacted]')"],
    ["ALTER SERVER s OPTIONS (ADD password 'hunter2')", "ALTER SERVER s OPTIONS (ADD password '[redacted]')"],
    ["CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'h', sslpassword 'hunter2')", "CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'h', sslpassword '[redacted]')"],
    ["SELECT dblink_connect('c', 'host=x password=hunter2')", "SELECT dblink_connect('[redacted]', '[redacted]')"],
    ["SELECT * FROM dblink('host=x password=' || 'hunter2', 'SELECT 1') AS t(a int)", "SELECT * FROM dblink('[redacted]' || '[redacted]', '[redacted]') AS t(a int)"],
    ["CREATE SUBSCRIPTION s CONNECTION 'host=x password=hunter2' PUBLICATION p", "CREATE SUBSCRIPTION s CONNECTION '[redacted]' PUBLICATION p"],
    ["ALTER SUBSCRIPTION s CONNECTION 'password=hunter2'", "ALTER SUBSCRIPTION s CONNECTION '[redacted]'"],
    ["ALTER SYSTEM SET primary_conninfo = 'host=x password=hunter2'", "ALTER SYSTEM SET primary_conninfo = '[redacted]'"],
    ["ALTER ROLE r SET my.password = 'hunter2'", "ALTER ROLE r SET my.password = '[redacted]'"],
    ["SELECT set_config('my.secret', 'hunter2', false)", "SELECT set_config('[redacted]', '[redacted]', false)"],
    ["SELECT set_config('my.conninfo_key', 'hunter2', false)", "SELECT set_config('[redacted]', '[redacted]', false)"],
    ["SELECT set_config('app.tenant', 'acme', false)", "SELECT set_config('app.tenant', 'acme', false)"],
    ["SELECT pgp_sym_decrypt(ssn, 'hunter2') FROM customers WHERE name = 'Bob'", "SELECT pgp_sym_decrypt(ssn, '[redacted]') FROM customers WHERE name = 'Bob'"],
    ["SELECT crypt('hunter2', gen_salt('bf'))", "SELECT crypt('[redacted]', gen_salt('bf'))"],
    ["SELECT 'postgres://u:hunter2@h/db'", "SELECT '[redacted]'"],
    ["COMMENT ON ROLE r IS 'password=hunter2'", "COMMENT ON ROLE r IS '[redacted]'"],
    ["DO $$ BEGIN ALTER ROLE r PASSWORD 'hunter2'; END $$", "DO $redacted$ BEGIN ALTER ROLE r PASSWORD '[redacted]'; END $redacted$"],
    ["DO $$ BEGIN EXECUTE 'ALTER ROLE r PASSWORD ''hunter2'''; END $$", "DO $redacted$ BEGIN EXECUTE '[redacted]'; END $redacted$"],
    ["CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $f$ ALTER ROLE r PASSWORD 'hunter2' $f$", "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $redacted$ ALTER ROLE r PASSWORD '[redacted]' $redacted$"],
    ["SELECT query_to_xml('SELECT dblink_connect(''password=hunter2'')', true, false, '')", "SELECT query_to_xml($redacted$SELECT dblink_connect('[redacted]')$redacted$, true, false, '')"],
    ["SELECT query_to_xml('SELECT 1 -- password=hunter2', true, false, '')", "SELECT query_to_xml($redacted$SELECT 1 -- password=[redacted]$redacted$, true, false, '')"],
    ["SELECT 1; ALTER ROLE r PASSWORD 'hunter2'", "SELECT 1; ALTER ROLE r PASSWORD '[redacted]'"],
    ["SELECT 1 -- password=hunter2", "SELECT 1 -- password=[redacted]"],
    ["SELECT 1 /* postgres://u:hunter2@h/db */", "SELECT 1 /* postgres://u:[redacted]@h/db */"],
    ["DO $$ BEGIN -- token = hunter2\n NULL; END $$", "DO $redacted$ BEGIN -- token = [redacted]\n NULL; END $redacted$"],
  ])('%s', (text, expected) => {
    expect(redactSecrets(text)).toBe(expected);
  });

  it('leaves texts without secrets unchanged (the same string)', () => {
    for (const t of ["SELECT * FROM users WHERE name = 'Bob'", 'SELECT password FROM users WHERE id = 1', "INSERT INTO t VALUES ('x', 1)", 'SELEC broken']) {
      expect(redactSecrets(t)).toBe(t);
    }
  });

  it('fails closed: a text that does not parse but may hold a secret loses its literals, one that cannot be scanned loses everything', () => {
    expect(redactSecrets("ALTER ROLE r PASSWORD 'hunter2' WITH GARBAGE")).toBe("ALTER ROLE r PASSWORD '[redacted]' WITH GARBAGE");
    expect(redactSecrets("ALTER ROLE r PASSWORD 'hunter2")).toBe(REDACTED_TEXT);
  });

  it('normalized text (what approvers see with literal redaction, and the audit log) has no secret either', () => {
    const a = createAnalyzer({ maxRows: 1000, cacheEntries: 0 });
    expect(a.analyze("ALTER SYSTEM SET primary_conninfo = 'password=hunter2'").statements[0]!.normalized).not.toContain('hunter2');
    expect(a.analyze("COPY t FROM PROGRAM 'curl -u u:hunter2 http://x'").statements[0]!.normalized).toBeDefined();
  });

  it('property: a secret in any password position, spelled any way, never survives', () => {
    const secretText = fc.stringMatching(/^[a-zA-Z0-9!#%&()*+,.:;<=>?@[\]^_{|}~ -]{6,20}$/).map((s) => `S3cr${s}`);
    const spell = fc.constantFrom(
      (s: string) => `'${s.replace(/'/g, "''")}'`,
      (s: string) => `E'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`,
      (s: string) => `U&'${[...s].map((ch) => `\\${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}'`,
      (s: string) => `$pw$${s}$pw$`,
    );
    const place = fc.constantFrom(
      (lit: string) => `ALTER ROLE r PASSWORD ${lit}`,
      (lit: string) => `CREATE ROLE r LOGIN /* c */ ENCRYPTED PASSWORD -- c\n ${lit}`,
      (lit: string) => `CREATE USER MAPPING FOR CURRENT_USER SERVER s OPTIONS ("password" ${lit})`,
      (lit: string) => `ALTER SERVER s OPTIONS (SET password ${lit})`,
      (lit: string) => `SELECT dblink_connect('host=x user=y password=' || ${lit})`,
      (lit: string) => `SELECT pgp_sym_encrypt('data', ${lit})`,
      (lit: string) => `ALTER SYSTEM SET primary_conninfo = ${lit}`,
      (lit: string) => `DO $body$ BEGIN ALTER ROLE r PASSWORD ${lit}; END $body$`,
    );
    fc.assert(
      fc.property(secretText, spell, place, (secret, s, p) => {
        const literal = s(secret);
        const text = p(literal);
        const out = redactSecrets(text);
        expect(out, text).not.toContain(secret);
        expect(out, text).not.toContain(literal);
      }),
      { numRuns: 500 },
    );
  }, 60_000);
});
