// "No secret in any log line": exercises every logging path with every test secret, and documents the suite-wide check
// (test/helpers/log-secrets-setup.ts as vitest globalSetup greps every line captured through test/helpers/log-capture.ts).
import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/units.js';
import { captureLogs, recordLogLines } from '../helpers/log-capture.js';
import { ALL_TEST_SECRETS, findSecret } from '../helpers/secrets.js';

describe('no test secret reaches a log line', () => {
  it('through fields, messages, format args, errors, bindings and Secret objects', () => {
    const capture = captureLogs();
    for (const s of ALL_TEST_SECRETS) {
      const log = capture.logger.child({ dsn: `postgres://agent:${s}@db:5432/app` });
      log.info({ password: s, token: s, app_password: new Secret(s), headers: { Authorization: `Bearer ${s}` } }, `login with postgres://agent:${s}@db/app`);
      log.warn('token=%s', s.startsWith('whsec_') ? `token=${s}` : `Bearer ${s}`);
      log.error(new Error(`upstream postgres://agent:${s}@db failed`));
      log.info({ nested: { deeper: { client_secret: s, list: [{ api_key: s }] } } });
    }
    expect(capture.lines.length).toBeGreaterThan(0);
    for (const line of capture.lines) expect(findSecret(line)).toBeNull();
  });

  it('findSecret recognises each secret (the check itself works)', () => {
    for (const s of ALL_TEST_SECRETS) expect(findSecret(`x ${s} y`)).toBe(s);
    recordLogLines([]); // no-op without the global setup; never throws
  });
});
