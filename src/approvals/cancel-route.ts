// Routes CancelRequests between pgwarden instances that share a Redis: behind a TCP load balancer a cancel lands on
// any instance, and the one that minted the key may be another. Each instance claims a 16-bit node id here (the
// proxy puts it in bits 15–30 of every pid it mints, see proxy/cancel-keys.ts) and listens on `<prefix>cancel:<id>`;
// an instance that receives a key it does not hold publishes it there, and the owner acts on it. Lives in approvals/
// because this folder owns pgwarden's Redis connections; the proxy sees only the CancelRoute interface.
import type { Logger } from 'pino';
import { randomInt } from 'node:crypto';
import { createRedisClient, parseRedisUrl, type RedisClient } from './redis-connect.js';

export interface CancelRouterOptions {
  readonly url: string;
  readonly keyPrefix: string;
  /** Recorded in the claim's value, to tell who holds a node id. */
  readonly instance: string;
  readonly logger: Logger;
  /** How often the node id claim is refreshed (default 2 s); it lapses after `claimTtlMs` (default 10 s). */
  readonly refreshMs?: number;
  readonly claimTtlMs?: number;
  /** How long to wait for Redis before taking an unclaimed random node id (default 2 s; 0 when Redis is known to be down). */
  readonly connectWaitMs?: number;
}

export interface CancelRouter {
  /** 1–65535. */
  readonly nodeId: number;
  /** Publishes a key to the instance whose node id its pid carries. Never throws; a lost cancel is logged. */
  forward(pid: number, secret: number): void;
  /** Keys other instances forwarded to this one. */
  onCancel(handler: (pid: number, secret: number) => void): void;
  close(): Promise<void>;
}

/** Bits 15–30 of a pid (mirrors nodeOfPid in proxy/cancel-keys.ts; a unit test keeps them equal). */
export function nodeIdOfPid(pid: number): number {
  return (pid >>> 15) & 0xffff;
}

const CLAIM_ATTEMPTS = 32;

export async function createCancelRouter(options: CancelRouterOptions): Promise<CancelRouter> {
  const { logger, keyPrefix } = options;
  const refreshMs = options.refreshMs ?? 2000;
  const ttlMs = options.claimTtlMs ?? 10_000;
  const target = parseRedisUrl(options.url);
  const retryStrategy = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000);
  const pub: RedisClient = createRedisClient(target, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 2000, connectTimeout: 2000, retryStrategy });
  let lastError = 0;
  const onError = (err: Error) => {
    if (Date.now() - lastError > 10_000) {
      lastError = Date.now();
      logger.warn({ err: { message: err.message } }, 'cancel routing: Redis connection error');
    }
  };
  pub.on('error', onError);
  const claimKey = (id: number) => `${keyPrefix}cancel-node:${id}`;
  // Instance names need not be unique; the claim's value must be, so that close() releases only its own claim.
  const claimValue = `${options.instance}/${randomInt(0, 2 ** 47).toString(36)}`;
  const channelOf = (id: number) => `${keyPrefix}cancel:${id}`;

  await waitReady(pub, options.connectWaitMs ?? 2000);
  // A node id shared by two instances still works (each checks the whole key; the other ignores it), so the claim only
  // makes that unlikely; when Redis is not reachable yet a random id is taken.
  let nodeId = 0;
  for (let i = 0; i < CLAIM_ATTEMPTS && nodeId === 0; i++) {
    const candidate = randomInt(1, 0x10000);
    if (pub.status !== 'ready') nodeId = candidate;
    else {
      try {
        if ((await pub.set(claimKey(candidate), claimValue, 'PX', ttlMs, 'NX')) === 'OK') nodeId = candidate;
      } catch {
        nodeId = candidate;
      }
    }
  }
  if (nodeId === 0) nodeId = randomInt(1, 0x10000);

  // The subscriber queues its SUBSCRIBE until connected and re-subscribes after every reconnect (ioredis autoResubscribe).
  const sub: RedisClient = createRedisClient(target, { connectTimeout: 2000, retryStrategy, maxRetriesPerRequest: null });
  sub.on('error', onError);
  const handlers = new Set<(pid: number, secret: number) => void>();
  sub.on('message', (channel: string, message: string) => {
    if (channel !== channelOf(nodeId)) return;
    try {
      const { pid, secret } = JSON.parse(message) as { pid: unknown; secret: unknown };
      if (!Number.isInteger(pid) || !Number.isInteger(secret)) return;
      for (const h of handlers) h(pid as number, secret as number);
    } catch {
      logger.warn('cancel routing: unreadable message on the cancel channel');
    }
  });
  const subscribed = sub
    .subscribe(channelOf(nodeId))
    .catch((err: unknown) => logger.warn({ err: { message: (err as Error).message } }, 'cancel routing: subscribing failed; cancels for this instance sent to others are lost until it succeeds'));
  if (pub.status === 'ready') await Promise.race([subscribed, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);

  const refresh = setInterval(() => {
    pub.set(claimKey(nodeId), claimValue, 'PX', ttlMs).catch(() => undefined);
  }, refreshMs);
  refresh.unref();

  return {
    nodeId,
    forward(pid, secret) {
      const owner = nodeIdOfPid(pid);
      if (owner === 0) return;
      pub.publish(channelOf(owner), JSON.stringify({ pid, secret })).then(
        (receivers) => {
          if (receivers === 0) logger.info({ node_id: owner }, 'cancel routing: no instance holds this cancel key (its connection or instance is gone)');
        },
        (err: unknown) => logger.warn({ err: { message: (err as Error).message } }, 'cancel routing: forwarding a CancelRequest failed; the cancel is lost'),
      );
    },
    onCancel(handler) {
      handlers.add(handler);
    },
    async close() {
      clearInterval(refresh);
      handlers.clear();
      if (pub.status === 'ready') {
        await pub.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, claimKey(nodeId), claimValue).catch(() => undefined);
      }
      // QUIT only on a live connection: on one still trying to connect it would wait in the offline queue.
      await Promise.allSettled([pub, sub].filter((c) => c.status === 'ready').map((c) => c.quit()));
      pub.disconnect();
      sub.disconnect();
    },
  };
}

/** Resolves once the client is ready, or after `ms` (then commands fail fast until it connects). */
function waitReady(client: RedisClient, ms: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    client.once('ready', done);
    function done(): void {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    }
  });
}
