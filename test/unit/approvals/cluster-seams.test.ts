// Pure parts of running several instances: routable cancel keys, the --redis URL forms, owner lookup, capped texts.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { CancelKeys, nodeOfPid } from '../../../src/proxy/cancel-keys.js';
import { nodeIdOfPid } from '../../../src/approvals/cancel-route.js';
import { assertClusterPrefix, parseRedisUrl, redactUrl } from '../../../src/approvals/redis-connect.js';
import { ownerLookup } from '../../../src/approvals/identity.js';
import { cutToBytes, storedText, truncationNote } from '../../../src/approvals/stored-text.js';
import { ConfigError } from '../../../src/errors.js';
import { loadConfig } from '../../../src/config.js';

describe('routable cancel keys', () => {
  it('put the node id in bits 15–30 of every pid, keep pids positive, and draw secrets independently', () => {
    for (const nodeId of [1, 2, 0x1234, 0xffff]) {
      const keys = new CancelKeys(nodeId);
      const secrets = new Set<number>();
      for (let i = 0; i < 200; i++) {
        const { pid, secret } = keys.register({ cancel() {} });
        expect(pid).toBeGreaterThan(0);
        expect(pid).toBeLessThanOrEqual(0x7fffffff);
        expect(nodeOfPid(pid)).toBe(nodeId);
        expect(nodeIdOfPid(pid)).toBe(nodeId);
        secrets.add(secret);
      }
      // 200 draws from 2^32: a repeat would mean the secret is not random.
      expect(secrets.size).toBe(200);
    }
  });

  it('never let two registrations with the same pid share a secret, and look up only the exact pair', () => {
    const keys = new CancelKeys(7);
    const a = { cancel() {} };
    const k = keys.register(a);
    expect(keys.lookup(k.pid, k.secret)).toBe(a);
    expect(keys.lookup(k.pid, k.secret ^ 1)).toBeUndefined();
    keys.unregister(k.pid, k.secret);
    expect(keys.lookup(k.pid, k.secret)).toBeUndefined();
  });

  it('agree between the proxy and the router on the node id of any pid', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 0x7fffffff }), (pid) => nodeOfPid(pid) === nodeIdOfPid(pid)));
  });

  it('keep 31 random bits of pid without a node id (a single instance)', () => {
    const keys = new CancelKeys();
    const nodes = new Set(Array.from({ length: 50 }, () => nodeOfPid(keys.register({ cancel() {} }).pid)));
    expect(nodes.size).toBeGreaterThan(1);
    expect(() => new CancelKeys(0x10000)).toThrow(RangeError);
  });
});

describe('--redis URL forms', () => {
  it('passes redis:// and rediss:// through to ioredis', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379/2')).toEqual({ kind: 'standalone', url: 'redis://127.0.0.1:6379/2' });
    expect(parseRedisUrl('rediss://u:p@h:6380')).toMatchObject({ kind: 'standalone' });
  });

  it('reads Sentinel: hosts (default port 26379), master name, database, credentials for data nodes and sentinels', () => {
    expect(parseRedisUrl('redis+sentinel://:s%40cret@10.0.0.1:26379,10.0.0.2,[::1]:26380/mymaster/3?sentinel_password=sp')).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      name: 'mymaster',
      db: 3,
      tls: false,
      password: 's@cret',
      sentinelPassword: 'sp',
    });
    expect(parseRedisUrl('rediss+sentinel://h1:26379/primary')).toMatchObject({ kind: 'sentinel', tls: true, db: 0, name: 'primary' });
  });

  it('reads Cluster seed nodes (default port 6379) and credentials', () => {
    expect(parseRedisUrl('redis+cluster://user:pw@n1:7000,n2')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 6379 },
      ],
      tls: false,
      username: 'user',
      password: 'pw',
    });
  });

  it('refuses malformed URLs with a message that names the problem and never the password', () => {
    const cases: [string, RegExp][] = [
      ['redis+sentinel://:topsecret@h1:26379', /needs the master name/],
      ['redis+sentinel://h1:26379/m?db=2', /unknown parameter 'db'/],
      ['redis+cluster://:topsecret@h1:7000/0', /has no path/],
      ['redis+cluster://h1:notaport', /is not HOST:PORT/],
      ['memcached://:topsecret@h', /cannot read memcached:\/\/:\[redacted\]@h/],
    ];
    for (const [url, message] of cases) {
      expect(() => parseRedisUrl(url), url).toThrow(ConfigError);
      expect(() => parseRedisUrl(url), url).toThrow(message);
      try {
        parseRedisUrl(url);
      } catch (err) {
        expect(String(err)).not.toContain('topsecret');
      }
    }
    expect(redactUrl('redis://u:pw@h:1')).toBe('redis://u:[redacted]@h:1');
  });

  it('requires a hash-tagged key prefix on Cluster, where a script’s keys must share a slot', () => {
    const cluster = parseRedisUrl('redis+cluster://n1:7000');
    expect(() => assertClusterPrefix(cluster, 'pgwarden:')).toThrow(/hash tag.*\{pgwarden\}:/);
    expect(() => assertClusterPrefix(cluster, '{pgwarden}:')).not.toThrow();
    expect(() => assertClusterPrefix(parseRedisUrl('redis://h'), 'pgwarden:')).not.toThrow();
  });
});

describe('owner lookup (config identities)', () => {
  it('finds the owner by exact user name, else case-insensitively; none for unknown users or empty owners', () => {
    const ownerOf = ownerLookup({ agent_bob: { owner: 'carol@example.com' }, Agent_CI: { owner: ' dave@example.com ' }, agent_x: {}, agent_y: { owner: '  ' } });
    expect(ownerOf('agent_bob')).toBe('carol@example.com');
    expect(ownerOf('AGENT_BOB')).toBe('carol@example.com');
    expect(ownerOf('agent_ci')).toBe('dave@example.com');
    expect(ownerOf('agent_x')).toBeUndefined();
    expect(ownerOf('agent_y')).toBeUndefined();
    expect(ownerOf('nobody')).toBeUndefined();
  });
});

describe('capped statement texts', () => {
  it('cut at a UTF-8 character boundary, never above the cap, and hash the whole text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.integer({ min: 0, max: 400 }), (text, max) => {
        const s = storedText(text, max);
        const bytes = Buffer.byteLength(text);
        expect(s.length).toBe(bytes);
        expect(s.sha256).toBe(createHash('sha256').update(text).digest('hex'));
        expect(Buffer.byteLength(s.text)).toBeLessThanOrEqual(Math.max(max, 0));
        expect(text.startsWith(s.text)).toBe(true);
        expect(s.truncated).toBe(bytes > max);
        // At most one character (4 bytes) short of the cap.
        if (s.truncated) expect(max - Buffer.byteLength(s.text)).toBeLessThan(4);
      }),
    );
    expect(cutToBytes('aé€😀', 6)).toBe('aé€');
    expect(cutToBytes('aé€😀', 5)).toBe('aé');
  });

  it('describe what is missing only when something was cut', () => {
    expect(truncationNote({ sql: 'SELECT é', sqlTruncated: true, sqlLength: 100, sqlSha256: 'ab' })).toBe('… (91 more bytes, sha256 ab)');
    expect(truncationNote({ sql: 'SELECT 1' })).toBe('');
  });
});

describe('configuration of owners, heartbeats and stored texts', () => {
  it('accepts identities.<name>.owner and refuses unknown keys in an identity', () => {
    expect(loadConfig({}, {}, { identities: { agent_bob: { owner: ' carol@example.com ' } } }).identities).toEqual({ agent_bob: { owner: 'carol@example.com' } });
    expect(() => loadConfig({}, {}, { identities: { agent_bob: { ownr: 'carol@example.com' } } })).toThrow(/identities\.agent_bob.*ownr/);
  });

  it('defaults to 64 KiB stored texts, 24 h retention, 2 s heartbeats and 10 s instance timeout; refuses a timeout under two heartbeats', () => {
    const config = loadConfig({}, {});
    expect(config.approvals).toMatchObject({ max_stored_sql: 65536, retention: 86_400_000, heartbeat_interval: 2000, instance_timeout: 10_000 });
    expect(() => loadConfig({}, {}, { 'approvals.heartbeat_interval': '5s', 'approvals.instance_timeout': '8s' })).toThrow(/approvals\.instance_timeout: .*at least twice/);
  });

  it('accepts the Sentinel and Cluster URL forms in --redis', () => {
    expect(loadConfig({ redis: 'redis+sentinel://h1:26379,h2:26379/mymaster' }, {}).redis).toBe('redis+sentinel://h1:26379,h2:26379/mymaster');
    expect(loadConfig({}, { PGWARDEN_REDIS: 'redis+cluster://h1:7000' }).redis).toBe('redis+cluster://h1:7000');
    expect(() => loadConfig({ redis: 'http://h' }, {})).toThrow(/redis: expected a redis:\/\/, redis\+sentinel:\/\/ or redis\+cluster:\/\/ URL/);
  });
});
