// The `--redis` URL forms and the ioredis client each one makes: one server, a Sentinel-managed primary, or a Cluster.
//
//   redis://[[user]:password@]host:port[/db]                            one server (rediss:// for TLS)
//   redis+sentinel://[[user]:password@]host:port[,host:port…]/NAME[/db][?sentinel_username=…&sentinel_password=…]
//   redis+cluster://[[user]:password@]host:port[,host:port…]
//
// `rediss+sentinel://` and `rediss+cluster://` use TLS to every node (and to the sentinels). Credentials in the URL
// are for the Redis servers; the sentinels' own, if any, go in the query.
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { ConfigError } from '../errors.js';

export type RedisTarget =
  | { readonly kind: 'standalone'; readonly url: string }
  | {
      readonly kind: 'sentinel';
      readonly sentinels: ReadonlyArray<{ host: string; port: number }>;
      readonly name: string;
      readonly db: number;
      readonly tls: boolean;
      readonly username?: string;
      readonly password?: string;
      readonly sentinelUsername?: string;
      readonly sentinelPassword?: string;
    }
  | {
      readonly kind: 'cluster';
      readonly nodes: ReadonlyArray<{ host: string; port: number }>;
      readonly tls: boolean;
      readonly username?: string;
      readonly password?: string;
    };

/** Either kind of ioredis client: the store uses only commands both have. */
export type RedisClient = Redis | Cluster;

const MULTI = /^(rediss?)\+(sentinel|cluster):\/\/(?:([^@/?#]*)@)?([^/?#]+)(\/[^?#]*)?(?:\?([^#]*))?$/;

function hosts(list: string, url: string, defaultPort: number): Array<{ host: string; port: number }> {
  return list.split(',').map((part) => {
    const m = /^(\[[0-9a-fA-F:]+\]|[^:\s]+)(?::(\d{1,5}))?$/.exec(part.trim());
    if (!m) throw new ConfigError(`redis: '${part}' in ${redactUrl(url)} is not HOST:PORT`);
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : defaultPort };
  });
}

/** The URL with any password replaced, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*:)[^@/]*@/, '//$1[redacted]@');
}

/** Parses a `--redis` URL; throws ConfigError naming what is wrong (never the password). */
export function parseRedisUrl(url: string): RedisTarget {
  if (/^rediss?:\/\//.test(url)) return { kind: 'standalone', url };
  const m = MULTI.exec(url);
  if (!m) {
    throw new ConfigError(
      `redis: cannot read ${redactUrl(url)}; use redis://host:port, redis+sentinel://host:26379[,host:26379…]/MASTER_NAME or redis+cluster://host:6379[,host:6379…]`,
    );
  }
  const [, scheme, kind, auth, hostList, path = '', query = ''] = m;
  const tls = scheme === 'rediss';
  let username: string | undefined;
  let password: string | undefined;
  if (auth !== undefined && auth !== '') {
    const colon = auth.indexOf(':');
    username = decodeURIComponent(colon < 0 ? auth : auth.slice(0, colon)) || undefined;
    password = colon < 0 ? undefined : decodeURIComponent(auth.slice(colon + 1));
  }
  const credentials = { ...(username !== undefined ? { username } : {}), ...(password !== undefined ? { password } : {}) };
  const params = new URLSearchParams(query);
  if (kind === 'cluster') {
    if (path !== '' && path !== '/') throw new ConfigError(`redis: a redis+cluster:// URL has no path (Cluster has no databases), got '${path}'`);
    if ([...params.keys()].length > 0) throw new ConfigError(`redis: a redis+cluster:// URL takes no query parameters, got '${[...params.keys()].join(', ')}'`);
    return { kind: 'cluster', nodes: hosts(hostList!, url, 6379), tls, ...credentials };
  }
  const segments = path.split('/').filter(Boolean);
  if (segments.length < 1 || segments.length > 2) throw new ConfigError(`redis: a redis+sentinel:// URL needs the master name as its path (…/mymaster or …/mymaster/0), got '${path || '(none)'}'`);
  const db = segments[1] === undefined ? 0 : Number(segments[1]);
  if (!Number.isInteger(db) || db < 0) throw new ConfigError(`redis: database '${segments[1]}' in the sentinel URL is not a number`);
  const unknown = [...params.keys()].filter((k) => k !== 'sentinel_username' && k !== 'sentinel_password');
  if (unknown.length > 0) throw new ConfigError(`redis: unknown parameter '${unknown.join(', ')}' in the sentinel URL; allowed: sentinel_username, sentinel_password`);
  const sentinelUsername = params.get('sentinel_username') ?? undefined;
  const sentinelPassword = params.get('sentinel_password') ?? undefined;
  return {
    kind: 'sentinel',
    sentinels: hosts(hostList!, url, 26379),
    name: decodeURIComponent(segments[0]!),
    db,
    tls,
    ...credentials,
    ...(sentinelUsername !== undefined ? { sentinelUsername } : {}),
    ...(sentinelPassword !== undefined ? { sentinelPassword } : {}),
  };
}

/** Redis Cluster runs a script only when all its keys share a slot: the key prefix must carry a hash tag. */
export function assertClusterPrefix(target: RedisTarget, keyPrefix: string): void {
  if (target.kind !== 'cluster') return;
  if (!/\{[^}]+\}/.test(keyPrefix)) {
    throw new ConfigError(`redis_key_prefix '${keyPrefix}' has no hash tag: on Redis Cluster every pgwarden key must share one slot, so use e.g. '{pgwarden}:'`);
  }
}

/** One ioredis client for the target. `options` are the connection behaviour (timeouts, retries, offline queue). */
export function createRedisClient(target: RedisTarget, options: RedisOptions): RedisClient {
  switch (target.kind) {
    case 'standalone':
      return new Redis(target.url, options);
    case 'sentinel':
      return new Redis({
        ...options,
        sentinels: target.sentinels.map((s) => ({ ...s })),
        name: target.name,
        db: target.db,
        ...(target.username !== undefined ? { username: target.username } : {}),
        ...(target.password !== undefined ? { password: target.password } : {}),
        ...(target.sentinelUsername !== undefined ? { sentinelUsername: target.sentinelUsername } : {}),
        ...(target.sentinelPassword !== undefined ? { sentinelPassword: target.sentinelPassword } : {}),
        ...(target.tls ? { tls: {}, enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
        // The sentinels are asked again on every reconnect, so a failover moves us to the new primary.
        ...(options.retryStrategy ? { sentinelRetryStrategy: options.retryStrategy } : {}),
      });
    case 'cluster': {
      const { retryStrategy, enableOfflineQueue, ...nodeOptions } = options;
      const clusterOptions: ClusterOptions = {
        ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
        clusterRetryStrategy: retryStrategy ?? null,
        redisOptions: {
          ...nodeOptions,
          ...(target.username !== undefined ? { username: target.username } : {}),
          ...(target.password !== undefined ? { password: target.password } : {}),
          ...(target.tls ? { tls: {} } : {}),
        },
      };
      return new Cluster(target.nodes.map((n) => ({ ...n })), clusterOptions);
    }
  }
}
