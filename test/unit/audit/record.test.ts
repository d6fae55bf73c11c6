import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalRecord, redactLiterals, redactSqlSecrets, serializeRecord } from '../../../src/audit/record.js';

describe('canonical record serialisation', () => {
  it('orders keys the same way whatever order they arrive in', () => {
    const a = { hash: 'h', prev: 'p', seq: 1, event: 'vote', ts: 't', actor: { address: '1.2.3.4', user: 'u', application: 'a' }, zeta: { b: 1, a: 2 } };
    const b = { zeta: { a: 2, b: 1 }, actor: { application: 'a', user: 'u', address: '1.2.3.4' }, ts: 't', event: 'vote', seq: 1, prev: 'p', hash: 'h' };
    expect(serializeRecord(a)).toBe(serializeRecord(b));
    expect(serializeRecord(a)).toBe(
      '{"seq":1,"ts":"t","event":"vote","actor":{"user":"u","application":"a","address":"1.2.3.4"},"zeta":{"a":2,"b":1},"prev":"p","hash":"h"}',
    );
  });

  it('is stable under a JSON round trip (what verify relies on)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (extra) => {
        const record = { ...extra, seq: 3, ts: 'x', prev: '0', hash: '1' };
        const line = serializeRecord(record);
        expect(serializeRecord(JSON.parse(line) as object)).toBe(line);
      }),
    );
  });

  it('drops undefined fields', () => {
    expect(canonicalRecord({ seq: 1, sql: undefined })).toEqual({ seq: 1 });
  });
});

describe('secrets in SQL text', () => {
  it('replaces role passwords, conninfo passwords and URL credentials', () => {
    expect(redactSqlSecrets("ALTER ROLE bob PASSWORD 'hunter2'")).toBe("ALTER ROLE bob PASSWORD '[redacted]'");
    expect(redactSqlSecrets("CREATE ROLE x LOGIN ENCRYPTED PASSWORD 'it''s'")).toBe("CREATE ROLE x LOGIN ENCRYPTED PASSWORD '[redacted]'");
    expect(redactSqlSecrets("SELECT dblink_connect('host=db user=a password=s3cret dbname=x')")).toBe("SELECT dblink_connect('host=db user=a password=[redacted] dbname=x')");
    expect(redactSqlSecrets("SELECT dblink('postgres://a:s3cret@db/x', 'select 1')")).toBe("SELECT dblink('postgres://a:[redacted]@db/x', 'select 1')");
  });

  it('leaves ordinary statements alone', () => {
    expect(redactSqlSecrets('SELECT password_hash FROM users WHERE id = 1')).toBe('SELECT password_hash FROM users WHERE id = 1');
  });
});

describe('fallback literal redaction', () => {
  it('replaces strings, dollar quotes and numbers, keeps identifiers and parameters', () => {
    expect(redactLiterals(`SELECT "t1".a FROM t1 WHERE b = 'x''y' AND c > 42.5 AND d = $1 AND e = $$z$$`)).toBe(
      `SELECT "t1".a FROM t1 WHERE b = $2 AND c > $3 AND d = $1 AND e = $4`,
    );
  });
});
