// The Slack Web API as pgwarden uses it: @slack/web-api clients with retries (429 after Retry-After, 5xx, network), a bounded request queue, retry metrics, pino logging without tokens, and a stop on close.
import { WebAPIHTTPError, WebAPIRateLimitedError, WebAPIRequestError, WebClient, WebClientEvent, type Logger as SlackLogger, type RetryOptions } from '@slack/web-api';
import type { Logger } from 'pino';
import type { Metrics } from '../../../metrics.js';
import type { Secret } from '../../../units.js';
import type { Block } from './blocks.js';
import type { SlackView } from './modal.js';

export const DEFAULT_SLACK_API_URL = 'https://slack.com/api/';

/**
 * Deliveries (posts, updates, lookups): up to 5 retries with exponential backoff and jitter, 1 s doubling to at
 * most 30 s. On a 429 the SDK first waits the Retry-After seconds Slack asked for (and pauses every queued
 * call of this client meanwhile), then the backoff applies.
 */
export const DELIVERY_RETRY: RetryOptions = { retries: 5, factor: 2, minTimeout: 1000, maxTimeout: 30_000, randomize: true };
/** Interactive calls (views.open, chat.postEphemeral) answer a click: Slack's trigger_id lives 3 s, so one quick retry at most. */
export const INTERACTIVE_RETRY: RetryOptions = { retries: 1, factor: 1, minTimeout: 200, maxTimeout: 200, randomize: false };
/** One HTTP attempt may take this long. */
const ATTEMPT_TIMEOUT_MS = 10_000;
/** At most this many calls in flight per client: one request sent to many DMs goes out a few at a time. */
export const MAX_CONCURRENT_CALLS = 3;

export type RetryReason = 'rate_limited' | 'server_error' | 'network';

export interface SlackClientOptions {
  readonly token: Secret;
  /** Web API base URL (test seam; default https://slack.com/api/). */
  readonly apiUrl?: string | undefined;
  /** Retry policy for deliveries (test seam: shorter timeouts). */
  readonly retry?: RetryOptions | undefined;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
}

export interface SlackUser {
  readonly id: string;
  readonly team_id?: string;
  readonly deleted?: boolean;
  readonly is_bot?: boolean;
  readonly is_app_user?: boolean;
  readonly is_restricted?: boolean;
  readonly is_ultra_restricted?: boolean;
  readonly is_email_confirmed?: boolean;
  readonly enterprise_user?: { readonly enterprise_id?: string };
  readonly profile?: { readonly email?: string };
}

export interface Workspace {
  readonly teamId: string;
  readonly enterpriseId: string | null;
  readonly botUserId: string | null;
  readonly url: string | null;
}

export interface SlackApi {
  postMessage(channel: string, message: { text: string; blocks: Block[] }): Promise<{ channel: string; ts: string }>;
  update(channel: string, ts: string, message: { text: string; blocks: Block[] }): Promise<void>;
  postEphemeral(channel: string, user: string, text: string): Promise<void>;
  openView(triggerId: string, view: SlackView): Promise<void>;
  userInfo(user: string): Promise<SlackUser>;
  lookupByEmail(email: string): Promise<SlackUser | null>;
  openDm(user: string): Promise<string>;
  authTest(): Promise<Workspace>;
  /** Stops retrying: calls in progress fail at their next attempt. */
  close(): void;
}

/** The Slack error code of a failed call ("channel_not_found", "ratelimited"), or the HTTP status / network failure. */
export function slackErrorCode(err: unknown): string {
  const e = err as { code?: string; data?: { error?: string }; statusCode?: number; message?: string };
  if (e?.data?.error) return e.data.error;
  if (e instanceof WebAPIHTTPError) return `http_${e.statusCode}`;
  if (e instanceof WebAPIRequestError) return 'network';
  if (e instanceof WebAPIRateLimitedError) return 'ratelimited';
  return e?.message ?? String(err);
}

const TOKEN_TEXT = /xox[a-z]-[A-Za-z0-9-]+/g;

/** The SDK's Logger on pino: strings only (its debug lines carry whole request bodies), tokens removed, SDK debug at trace. */
function sdkLogger(pino: Logger): SlackLogger {
  const line = (args: unknown[]) =>
    args
      .map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.message : ''))
      .filter(Boolean)
      .join(' ')
      .replace(TOKEN_TEXT, '[redacted]');
  return {
    debug: (...a: unknown[]) => pino.trace({ sdk: 'slack' }, line(a)),
    info: (...a: unknown[]) => pino.debug({ sdk: 'slack' }, line(a)),
    warn: (...a: unknown[]) => pino.warn({ sdk: 'slack' }, line(a)),
    error: (...a: unknown[]) => pino.error({ sdk: 'slack' }, line(a)),
    setLevel: () => undefined,
    getLevel: () => 'debug' as never,
    setName: () => undefined,
  };
}

/** Which failures are worth another attempt. The SDK turns a 429 into a plain Error after sleeping its Retry-After. */
export function retryReason(err: unknown): RetryReason | null {
  if (err instanceof WebAPIHTTPError) return err.statusCode >= 500 ? 'server_error' : null;
  // The SDK signals "slept Retry-After, try again" with a plain Error that its own catch wraps as a request error.
  if (err instanceof WebAPIRequestError) return err.original.message.startsWith('A rate limit was exceeded') ? 'rate_limited' : 'network';
  return null;
}

export function createSlackApi(options: SlackClientOptions): SlackApi {
  const log = options.logger;
  const stop = new AbortController();
  const apiUrl = options.apiUrl ?? DEFAULT_SLACK_API_URL;
  // Every attempt is cut off when the channel closes, so shutdown never waits out a backoff.
  const fetchFn: typeof fetch = (input, init) => {
    if (stop.signal.aborted) return Promise.reject(new Error('slack channel closed'));
    const signals = [stop.signal, ...(init?.signal ? [init.signal] : [])];
    return fetch(input, { ...init, signal: AbortSignal.any(signals) });
  };
  // A call sleeping out a Retry-After inside the SDK cannot be interrupted: once closed, callers stop waiting for it.
  const closed = new Promise<never>((_, reject) => stop.signal.addEventListener('abort', () => reject(new Error('slack channel closed')), { once: true }));
  closed.catch(() => undefined);
  const guard = <T>(call: Promise<T>): Promise<T> => {
    call.catch(() => undefined);
    return Promise.race([call, closed]);
  };
  const policy = (base: RetryOptions): RetryOptions =>
    ({
      ...base,
      // p-retry calls this after each failed attempt; throwing ends the retries with that error.
      onFailedAttempt: (err: Error & { attemptNumber?: number; retriesLeft?: number }) => {
        const reason = retryReason(err);
        if (stop.signal.aborted || reason === null) throw err;
        if ((err.retriesLeft ?? 0) > 0) {
          options.metrics?.channelRetries.inc({ channel: 'slack', reason });
          log.warn({ reason, attempt: err.attemptNumber, err: slackErrorCode(err) }, 'slack: call failed, retrying');
        }
      },
    }) as RetryOptions;
  const common = { slackApiUrl: apiUrl, logger: sdkLogger(log), timeout: ATTEMPT_TIMEOUT_MS, maxRequestConcurrency: MAX_CONCURRENT_CALLS, fetch: fetchFn, allowAbsoluteUrls: false };
  const token = options.token.reveal();
  const delivery = new WebClient(token, { ...common, retryConfig: policy(options.retry ?? DELIVERY_RETRY) });
  // Rate-limited interactive calls fail at once instead of sleeping past the 3-second trigger window.
  const interactive = new WebClient(token, { ...common, retryConfig: policy(INTERACTIVE_RETRY), rejectRateLimitedCalls: true });
  delivery.on(WebClientEvent.RATE_LIMITED, (retryAfter: number) => log.warn({ retry_after_s: retryAfter }, 'slack: rate limited; waiting as Slack asked'));

  return {
    async postMessage(channel, message) {
      const res = await guard(delivery.chat.postMessage({ channel, text: message.text, blocks: message.blocks as never, unfurl_links: false, unfurl_media: false }));
      if (!res.channel || !res.ts) throw new Error('slack: chat.postMessage answered without channel and ts');
      return { channel: res.channel, ts: res.ts };
    },
    async update(channel, ts, message) {
      await guard(delivery.chat.update({ channel, ts, text: message.text, blocks: message.blocks as never }));
    },
    async postEphemeral(channel, user, text) {
      await guard(interactive.chat.postEphemeral({ channel, user, text }));
    },
    async openView(triggerId, view) {
      await guard(interactive.views.open({ trigger_id: triggerId, view: view as never }));
    },
    async userInfo(user) {
      // Asked while answering a click (3-second window): the interactive client does not sleep on a 429.
      const res = await guard(interactive.users.info({ user }));
      if (!res.user?.id) throw new Error('slack: users.info answered without a user');
      return res.user as SlackUser;
    },
    async lookupByEmail(email) {
      try {
        const res = await guard(delivery.users.lookupByEmail({ email }));
        return (res.user as SlackUser | undefined) ?? null;
      } catch (err) {
        if (slackErrorCode(err) === 'users_not_found') return null;
        throw err;
      }
    },
    async openDm(user) {
      const res = await guard(delivery.conversations.open({ users: user }));
      const id = res.channel?.id;
      if (!id) throw new Error('slack: conversations.open answered without a channel id');
      return id;
    },
    async authTest() {
      const res = await guard(delivery.auth.test());
      if (!res.team_id) throw new Error('slack: auth.test answered without team_id');
      return { teamId: res.team_id, enterpriseId: res.enterprise_id ?? null, botUserId: res.user_id ?? null, url: res.url ?? null };
    },
    close() {
      stop.abort();
    },
  };
}
