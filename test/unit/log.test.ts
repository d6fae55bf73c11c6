import { describe, expect, it } from 'vitest';
import { Secret } from '../../src/units.js';
import { redactText, redactValue } from '../../src/log.js';
import { captureLogs } from '../helpers/log-capture.js';
import { TEST_SECRETS, findSecret } from '../helpers/secrets.js';

const pw = TEST_SECRETS.pgPassword;
const token = TEST_SECRETS.apiToken;

describe('logger', () => {
  it('writes JSON lines with a string level and the service name', () => {
    const { logger, records } = captureLogs({ level: 'info' });
    logger.debug('hidden');
    logger.info({ connection_id: 'c1' }, 'client connected');
    expect(records()).toEqual([expect.objectContaining({ level: 'info', service: 'pgwarden', connection_id: 'c1', msg: 'client connected' })]);
  });

  it('redacts a connection string password inside a message, a format argument and a field', () => {
    const { logger, text } = captureLogs();
    logger.info(`connecting to postgres://app:${pw}@db.internal:5432/app`);
    logger.info('upstream %s unreachable', `postgresql://app:${pw}@db:5432/x`);
    logger.warn({ upstream: `postgres://app:${pw}@db/x`, nested: { deeper: { url: `redis://:${pw}@redis:6379` } } }, 'retrying');
    expect(text()).not.toContain(pw);
    expect(text()).toContain('postgres://app:[redacted]@db.internal:5432/app');
    expect(text()).toContain('redis://:[redacted]@redis:6379');
  });

  it('redacts Secret objects wherever they appear', () => {
    const { logger, text } = captureLogs();
    const secret = new Secret(TEST_SECRETS.teamsAppPassword);
    logger.info({ teams: { app_id: 'x', credential: secret } }, 'teams configured');
    logger.info({ list: [secret] }, 'list');
    logger.info(secret as unknown as string);
    logger.info('value %s', secret);
    expect(text()).not.toContain(TEST_SECRETS.teamsAppPassword);
    expect(text()).toContain('[redacted]');
  });

  it('redacts secret-named fields at any depth and Authorization headers in any case', () => {
    const { logger, text } = captureLogs();
    logger.info({ req: { headers: { Authorization: `Bearer ${token}`, authorization: `Bearer ${token}`, cookie: 'sid=abc' } } }, 'request');
    logger.info({ config: { approvals: { api_tokens: { alice: token } }, webhook: { secret: TEST_SECRETS.webhookSecret }, a: { b: { c: { password: pw } } } } });
    logger.info({ slack_signing_secret: TEST_SECRETS.slackSigningSecret, headers: { 'x-api-token': token } });
    expect(findSecret(text())).toBeNull();
  });

  it('redacts tokens and passwords in free text and in errors', () => {
    const { logger, text } = captureLogs();
    logger.info(`curl -H 'Authorization: Bearer ${token}' http://x`);
    logger.info(`dblink_connect('host=db password=${pw} dbname=x')`);
    logger.info(`ALTER ROLE bob PASSWORD '${pw}'`);
    const err = new Error(`connect failed for postgres://u:${pw}@h/db`) as Error & { config?: unknown };
    err.config = { password: pw };
    logger.error({ err }, 'boom');
    logger.error(err);
    expect(findSecret(text())).toBeNull();
    expect(text()).toContain('connect failed for postgres://u:[redacted]@h/db');
  });

  it('redacts secrets in child logger bindings', () => {
    const { logger, text } = captureLogs();
    logger.child({ upstream: `postgres://u:${pw}@h/db`, token }).info('child');
    expect(findSecret(text())).toBeNull();
  });

  it('keeps ordinary values intact', () => {
    expect(redactValue({ rule: 'no-ddl', count: 3, tables: ['users'], password_hash_column: 'x' })).toEqual({ rule: 'no-ddl', count: 3, tables: ['users'], password_hash_column: 'x' });
    expect(redactText('SELECT password_hash FROM users')).toBe('SELECT password_hash FROM users');
  });
});
