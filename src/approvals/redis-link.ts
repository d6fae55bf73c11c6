// The Redis store's two connections (commands, and a subscriber for the event channel) and their availability:
// commands never queue while Redis is away, the subscriber re-subscribes itself, and a reconnect after an outage is
// reported so the store can re-read what pub/sub may have dropped.
import type { Logger } from 'pino';
import { ApprovalsUnavailable } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { createRedisClient, type RedisClient, type RedisTarget } from './redis-connect.js';

export interface RedisLinkOptions {
  readonly target: RedisTarget;
  readonly channel: string;
  readonly logger?: Logger | undefined;
  readonly metrics?: Metrics | undefined;
  readonly now: () => number;
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly reconnectDelayMs?: ((attempt: number) => number) | undefined;
  /** A message on the channel. */
  onMessage(message: string): void;
  /** Redis became usable again after an outage: pub/sub messages sent meanwhile are lost. */
  onRecovered(): void;
}

export interface RedisLink {
  readonly cmd: RedisClient;
  isAvailable(): boolean;
  /** ms since epoch of the moment Redis last became available (0 while it is not). */
  availableSince(): number;
  onAvailability(listener: (up: boolean) => void): void;
  ready(timeoutMs?: number): Promise<boolean>;
  /** Runs a command against a live connection or fails fast with ApprovalsUnavailable. */
  run<T>(what: string, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function createRedisLink(options: RedisLinkOptions): RedisLink {
  const { logger: log, now } = options;
  const retryStrategy = (times: number) => options.reconnectDelayMs?.(times) ?? Math.min(50 * 2 ** Math.min(times, 6), 2000);
  // Commands fail at once while disconnected (no offline queue, no retries): the proxy must never hang on Redis.
  const cmd = createRedisClient(options.target, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.connectTimeoutMs,
    retryStrategy,
    lazyConnect: false,
  });
  // The subscriber re-subscribes itself on every 'ready' so it knows when the subscription is live again.
  const sub = createRedisClient(options.target, { autoResubscribe: false, connectTimeout: options.connectTimeoutMs, retryStrategy, maxRetriesPerRequest: null });

  const availabilityListeners = new Set<(up: boolean) => void>();
  let cmdReady = false;
  let subscribed = false;
  let available = false;
  let since = 0;
  let hadOutage = false;
  let everReady = false;
  let closed = false;
  let readyWaiters: Array<() => void> = [];
  options.metrics?.redisUp.set(0);

  function update(): void {
    const up = cmdReady && subscribed && !closed;
    if (up === available) return;
    available = up;
    since = up ? now() : 0;
    options.metrics?.redisUp.set(up ? 1 : 0);
    if (up) {
      everReady = true;
      for (const w of readyWaiters) w();
      readyWaiters = [];
    } else {
      hadOutage = true;
    }
    log?.[up ? 'info' : 'warn']({ redis_up: up }, up ? 'approvals: Redis reachable' : 'approvals: Redis unreachable; statements that need review are refused');
    for (const listener of availabilityListeners) {
      try {
        listener(up);
      } catch (err) {
        log?.error({ err }, 'approvals: an availability listener threw');
      }
    }
    if (up && hadOutage) options.onRecovered();
  }

  let lastErrorLog = 0;
  const onError = (err: Error) => {
    // ioredis emits an error per failed reconnect attempt; log at most one per 10 s.
    if (now() - lastErrorLog > 10_000) {
      lastErrorLog = now();
      log?.warn({ err: { message: err.message, code: (err as { code?: string }).code } }, 'approvals: Redis connection error');
    }
  };
  cmd.on('error', onError);
  sub.on('error', onError);
  cmd.on('ready', () => {
    cmdReady = true;
    update();
    // The subscriber may have stayed connected while commands were cut off; re-read anyway.
    if (available && hadOutage) options.onRecovered();
  });
  cmd.on('close', () => {
    cmdReady = false;
    update();
  });
  sub.on('ready', () => {
    sub.subscribe(options.channel).then(
      () => {
        subscribed = true;
        update();
        if (available && hadOutage) options.onRecovered();
      },
      (err: unknown) => log?.warn({ err }, 'approvals: subscribing to Redis events failed; will retry on reconnect'),
    );
  });
  sub.on('close', () => {
    if (subscribed) hadOutage = true;
    subscribed = false;
    update();
  });
  sub.on('message', (ch: string, message: string) => {
    if (ch === options.channel) options.onMessage(message);
  });

  function ready(timeoutMs = options.connectTimeoutMs): Promise<boolean> {
    if (available) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        readyWaiters = readyWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(available);
      };
      readyWaiters.push(done);
    });
  }

  return {
    cmd,
    isAvailable: () => available,
    availableSince: () => since,
    onAvailability(listener) {
      availabilityListeners.add(listener);
    },
    ready,
    async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
      if (closed) throw new ApprovalsUnavailable('the approval store is closed');
      // Right after startup, wait (briefly) for the first connection instead of failing the first statement.
      if (!cmdReady && !everReady && !(await ready())) throw new ApprovalsUnavailable(`Redis is not reachable (${what})`);
      if (!cmdReady) throw new ApprovalsUnavailable(`Redis is not reachable (${what})`);
      try {
        return await fn();
      } catch (err) {
        if (err instanceof ApprovalsUnavailable) throw err;
        // A Lua error is a bug, not an outage, but the caller's answer is the same: refuse, fail closed.
        throw new ApprovalsUnavailable(`Redis ${what} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      update();
      availabilityListeners.clear();
      for (const w of readyWaiters) w();
      readyWaiters = [];
      await Promise.allSettled([cmd.quit(), sub.quit()]);
      cmd.disconnect();
      sub.disconnect();
    },
  };
}
