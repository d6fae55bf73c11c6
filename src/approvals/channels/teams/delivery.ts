// Calls to the Bot Connector the way Microsoft asks bots to make them: one at a time per conversation, retried with
// exponential backoff and jitter on 429 (honouring Retry-After) and on 412/502/504, every failed attempt counted by status.
import { LABEL_VALUES } from '../../../metrics.js';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  /** Backoff before retry n is a random share of min(maxDelayMs, baseDelayMs · 2^(n-1)) ("full jitter"). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the card would be stale by then, so the call fails instead. */
  readonly maxRetryAfterMs: number;
}

/**
 * Microsoft's guidance for bots: back off exponentially with jitter on 429 and retry 412, 502 and 504
 * (learn.microsoft.com, "Optimize your bot with rate limiting and best practices in Teams").
 */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 15_000, maxRetryAfterMs: 60_000 };

/** Statuses that mean "try again later" for any call. */
const RETRYABLE = new Set([412, 429, 502, 504]);

/** The HTTP status of a failed SDK call (axios error), or null when no response came (network error, timeout). */
export function statusOf(err: unknown): number | null {
  const e = err as { response?: { status?: unknown }; status?: unknown } | null;
  const status = e?.response?.status ?? e?.status;
  return typeof status === 'number' ? status : null;
}

/** Retry-After of a failed call in milliseconds (delta-seconds or an HTTP date), or null. */
export function retryAfterMs(err: unknown, now: number = Date.now()): number | null {
  const headers = (err as { response?: { headers?: Record<string, unknown> & { get?: (name: string) => unknown } } } | null)?.response?.headers;
  if (!headers) return null;
  const raw = typeof headers.get === 'function' ? headers.get('retry-after') : (headers['retry-after'] ?? headers['Retry-After']);
  if (typeof raw !== 'string' && typeof raw !== 'number') return null;
  const text = String(raw).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** The metric label for a failed attempt: a known status, `network` when nothing answered, else `other`. */
export function statusLabel(status: number | null): string {
  if (status === null) return 'network';
  const s = String(status);
  return (LABEL_VALUES.teamsStatus as readonly string[]).includes(s) ? s : 'other';
}

export interface ConnectorCallOptions {
  /** Conversation the call writes to: calls with the same key run one after another. */
  readonly conversationId: string;
  /** What the call does, for logs ("post card", "update card"). */
  readonly what: string;
  /** PUT-style calls may also be retried after a network error; a POST might have been delivered already. */
  readonly idempotent: boolean;
}

export interface ConnectorCallerDeps {
  readonly policy?: Partial<RetryPolicy> | undefined;
  /** Counts each failed attempt by status label. */
  readonly onFailure?: ((statusLabel: string) => void) | undefined;
  /** Logs each retry (status, attempt, wait). */
  readonly onRetry?: ((info: { what: string; conversation_id: string; status: number | null; attempt: number; wait_ms: number }) => void) | undefined;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export class ConnectorCaller {
  readonly #policy: RetryPolicy;
  readonly #deps: ConnectorCallerDeps;
  /** Tail of each conversation's chain of calls. */
  readonly #tails = new Map<string, Promise<unknown>>();

  constructor(deps: ConnectorCallerDeps = {}) {
    this.#policy = { ...DEFAULT_RETRY, ...deps.policy };
    this.#deps = deps;
  }

  /** Runs `call` after the conversation's earlier calls settled, retrying as Microsoft asks. Rejects with the last error. */
  run<T>(options: ConnectorCallOptions, call: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(options.conversationId) ?? Promise.resolve();
    const result = before.then(
      () => this.#withRetries(options, call),
      () => this.#withRetries(options, call),
    );
    const tail = result.catch(() => undefined);
    this.#tails.set(options.conversationId, tail);
    void tail.then(() => {
      if (this.#tails.get(options.conversationId) === tail) this.#tails.delete(options.conversationId);
    });
    return result;
  }

  async #withRetries<T>(options: ConnectorCallOptions, call: () => Promise<T>): Promise<T> {
    const p = this.#policy;
    const random = this.#deps.random ?? Math.random;
    const sleep = this.#deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        const status = statusOf(err);
        this.#deps.onFailure?.(statusLabel(status));
        const retryable = status === null ? options.idempotent : RETRYABLE.has(status);
        if (!retryable || attempt >= p.maxAttempts) throw err;
        const backoff = random() * Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** (attempt - 1));
        const asked = status === 429 ? retryAfterMs(err) : null;
        if (asked !== null && asked > p.maxRetryAfterMs) throw err;
        // Retry-After is a floor: never earlier than asked, plus jitter so instances do not return in step.
        const wait = Math.round(asked !== null ? asked + random() * p.baseDelayMs : backoff);
        this.#deps.onRetry?.({ what: options.what, conversation_id: options.conversationId, status, attempt, wait_ms: wait });
        await sleep(wait);
      }
    }
  }
}
