// The HTTP route table: exact paths, :params, 404 vs 405, HEAD served by GET.
import { describe, expect, it } from 'vitest';
import { Router } from '../../../src/http/router.js';

const noop = () => {};

describe('Router', () => {
  const router = new Router();
  router.add('GET', '/api/approvals', noop);
  router.add('GET', '/api/approvals/:id', noop);
  router.add('POST', '/api/approvals/:id/decision', noop);

  it('matches exact paths and decodes :params', () => {
    expect(router.match('GET', '/api/approvals')).toMatchObject({ kind: 'found', params: {} });
    expect(router.match('POST', '/api/approvals/apr_1%2F2/decision')).toMatchObject({ kind: 'found', params: { id: 'apr_1/2' } });
  });

  it('says 405 with the allowed methods for a known path, 404 otherwise', () => {
    expect(router.match('DELETE', '/api/approvals/x')).toEqual({ kind: 'method_not_allowed', allow: ['GET'] });
    expect(router.match('GET', '/api/approvals/x/decision')).toEqual({ kind: 'method_not_allowed', allow: ['POST'] });
    expect(router.match('GET', '/api/approvals/')).toEqual({ kind: 'not_found' });
    expect(router.match('GET', '/api/approvals/x/y/z')).toEqual({ kind: 'not_found' });
    expect(router.match('GET', '/api/approvals/%E0%A4%A')).toEqual({ kind: 'not_found' });
  });

  it('answers HEAD with the GET handler and refuses duplicate routes', () => {
    expect(router.match('HEAD', '/api/approvals').kind).toBe('found');
    expect(() => router.add('get', '/api/approvals', noop)).toThrow(/already registered/);
    expect(() => router.add('GET', 'relative', noop)).toThrow(/must start with/);
  });
});
