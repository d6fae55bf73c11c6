// Pure parts of the identity work: failure backoff and its bounds, per-identity counts, certificate SAN parsing, OIDC
// claim paths, and --upstream's libpq TLS parameters.
import { describe, expect, it } from 'vitest';
import { addressKey, AuthThrottle, IdentityConnections } from '../../../src/proxy/auth/throttle.js';
import { identityFromCertificate, parseSubjectAltName } from '../../../src/proxy/tls/client-cert.js';
import { claimAt } from '../../../src/proxy/auth/oidc.js';
import { parseUpstreamUrl } from '../../../src/proxy/upstream-tls.js';
import { ConfigError } from '../../../src/errors.js';

describe('authentication backoff', () => {
  it('answers the first attempts at once, then doubles per failure of the address or the name, up to the max', () => {
    let now = 0;
    const t = new AuthThrottle({ baseDelayMs: 100, maxDelayMs: 1000, windowMs: 60_000, now: () => now });
    expect(t.delay('10.0.0.1', 'agent', false)).toBe(0);
    expect(t.delay('10.0.0.1', 'agent', true)).toBe(100);
    t.recordFailure('10.0.0.1', 'agent');
    t.recordFailure('10.0.0.1', 'agent');
    expect(t.delay('10.0.0.1', 'someone-else', false)).toBe(200);
    expect(t.delay('10.9.9.9', 'agent', false)).toBe(200);
    for (let i = 0; i < 10; i++) t.recordFailure('10.0.0.1', 'agent');
    expect(t.delay('10.0.0.1', 'agent', true)).toBe(1000);
    now += 60_001;
    expect(t.delay('10.0.0.1', 'agent', false)).toBe(0);
  });

  it('forgets a name after its success but keeps the address record, and holds a bounded number of entries', () => {
    const t = new AuthThrottle({ baseDelayMs: 100, maxDelayMs: 1000, windowMs: 60_000, maxEntries: 10 });
    t.recordFailure('10.0.0.1', 'agent');
    t.recordSuccess('agent');
    expect(t.delay('10.0.0.2', 'agent', false)).toBe(0);
    expect(t.delay('10.0.0.1', 'x', false)).toBe(100);
    for (let i = 0; i < 100; i++) t.recordFailure(`10.1.0.${i}`, `n${i}`);
    expect(t.size).toBeLessThanOrEqual(10);
  });

  it('groups IPv6 addresses by /64 and unwraps IPv4-mapped ones', () => {
    expect(addressKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe(addressKey('2001:db8:1:2::ffff'));
    expect(addressKey('2001:db8:1:3::1')).not.toBe(addressKey('2001:db8:1:2::1'));
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });

  it('counts open connections per identity, case-insensitively, refusing past the limit', () => {
    const c = new IdentityConnections();
    expect(c.acquire('Agent-7', 2)).toBe(true);
    expect(c.acquire('agent-7', 2)).toBe(true);
    expect(c.acquire('AGENT-7', 2)).toBe(false);
    c.release('agent-7');
    expect(c.acquire('agent-7', 2)).toBe(true);
    expect(c.acquire('other', 0)).toBe(true);
    expect(c.count('agent-7')).toBe(2);
  });
});

describe('client certificate identities', () => {
  it('parses Node subjectaltname text, including quoted values with commas', () => {
    expect(parseSubjectAltName('DNS:a.example, URI:spiffe://example.org/agent-7, email:"x,y@example.com", IP Address:10.0.0.1')).toEqual([
      ['DNS', 'a.example'],
      ['URI', 'spiffe://example.org/agent-7'],
      ['email', 'x,y@example.com'],
      ['IP Address', '10.0.0.1'],
    ]);
  });

  it('takes the first configured field present; skips ambiguous ones', () => {
    const cert = { subject: { CN: 'agent-cn' }, subjectaltname: 'URI:spiffe://example.org/agent-7, DNS:a, DNS:b' };
    expect(identityFromCertificate(cert, ['san_uri', 'subject_cn'])).toBe('spiffe://example.org/agent-7');
    expect(identityFromCertificate(cert, ['san_dns', 'subject_cn'])).toBe('agent-cn');
    expect(identityFromCertificate({ subject: { CN: ['a', 'b'] } }, ['subject_cn'])).toBeNull();
    expect(identityFromCertificate({}, ['san_email'])).toBeNull();
  });
});

describe('OIDC claim paths', () => {
  it('reads exact keys first, then dotted steps', () => {
    const payload = { sub: 'x', act: { sub: 'alice@example.com' }, 'kubernetes.io': { serviceaccount: { name: 'agent-7' } } };
    expect(claimAt(payload, 'sub')).toBe('x');
    expect(claimAt(payload, 'act.sub')).toBe('alice@example.com');
    expect(claimAt(payload, 'kubernetes.io.serviceaccount.name')).toBe('agent-7');
    expect(claimAt(payload, 'missing.path')).toBeUndefined();
  });
});

describe('--upstream TLS parameters (libpq semantics)', () => {
  it('defaults to sslmode=prefer, sni on, channel binding prefer', () => {
    const t = parseUpstreamUrl('postgres://db.internal:6432/app');
    expect(t).toMatchObject({ host: 'db.internal', port: 6432, display: 'db.internal:6432' });
    expect(t.tls!.settings).toMatchObject({ mode: 'prefer', sni: true, negotiation: 'postgres', channelBinding: 'prefer', allowedAuth: null });
  });

  it('turns require with a root certificate into verify-ca, as libpq does', () => {
    expect(parseUpstreamUrl('postgres://db/app?sslmode=require&sslrootcert=/ca.pem').tls!.settings.mode).toBe('verify-ca');
    expect(parseUpstreamUrl('postgres://db/app?sslmode=require').tls!.settings.mode).toBe('require');
  });

  it('refuses settings that cannot be honoured, naming the parameter', () => {
    expect(() => parseUpstreamUrl('postgres://db/app?sslmode=verify-full')).toThrow(/sslmode=verify-full needs sslrootcert/);
    expect(() => parseUpstreamUrl('postgres://db/app?sslmode=verify-ful&sslrootcert=/x')).toThrow(ConfigError);
    expect(() => parseUpstreamUrl('postgres://db/app?sslrootcert=system&sslmode=require')).toThrow(/sslrootcert=system needs sslmode=verify-full/);
    expect(() => parseUpstreamUrl('postgres://db/app?sslnegotiation=direct')).toThrow(/direct needs sslmode=require/);
    expect(() => parseUpstreamUrl('postgres://db/app?sslcert=/c.pem')).toThrow(/sslkey/);
    expect(() => parseUpstreamUrl('postgres://db/app?sslpassword=x')).toThrow(/sslpassword: not supported/);
    expect(() => parseUpstreamUrl('postgres://db/app?require_auth=md5,!password')).toThrow(/mix/);
  });

  it('reads system roots, direct negotiation, protocol bounds, require_auth and connect_timeout', () => {
    const t = parseUpstreamUrl('postgres://db/app?sslrootcert=system&sslnegotiation=direct&ssl_min_protocol_version=TLSv1.3&require_auth=!password,!md5&connect_timeout=3&sslsni=0');
    expect(t.tls!.settings).toMatchObject({ mode: 'verify-full', negotiation: 'direct', minVersion: 'TLSv1.3', sni: false });
    expect([...t.tls!.settings.allowedAuth!].sort()).toEqual(['none', 'scram-sha-256']);
    expect(t.connectTimeoutMs).toBe(3000);
  });
});
