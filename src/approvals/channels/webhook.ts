// The signed webhook channel: POSTs approval.requested / approval.updated to configured URLs (Standard Webhooks), retrying with backoff, never blocking the data path.
import type { Logger } from 'pino';
import { ConfigError } from '../../errors.js';
import { toApiJson } from '../api-shape.js';
import { newWebhookMessageId } from '../ids.js';
import { approvalUrl } from '../notice.js';
import type { ApprovalRequest } from '../request.js';
import type { ApprovalChannel } from './channel.js';
import { signWebhook } from './webhook-signature.js';

export const WebhookEventType = {
  requested: 'approval.requested',
  updated: 'approval.updated',
} as const;
export type WebhookEventType = (typeof WebhookEventType)[keyof typeof WebhookEventType];

export interface WebhookChannelOptions {
  readonly urls: readonly string[];
  /** `whsec_<base64>` or any string (then its UTF-8 bytes are the key). Accepts config's Secret. */
  readonly secret: string | { reveal(): string };
  /** Attempts per event per URL, including the first (config webhook.max_attempts). */
  readonly maxAttempts: number;
  /** Per attempt (config webhook.timeout). */
  readonly timeoutMs: number;
  /** Base URL of the console/API, for the links in each payload. */
  readonly publicUrl?: string;
  readonly logger?: Logger;
  /** First retry delay; doubles each attempt with ±20 % jitter (default 1 s, capped at maxDelayMs, default 60 s). */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
}

/** 408, 429 and 5xx are worth retrying; any other status is the receiver's final answer. */
function isRetryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Where a failure went, without the query string or credentials a URL may carry. */
function safeTarget(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

export function createWebhookChannel(options: WebhookChannelOptions): ApprovalChannel {
  const secret = typeof options.secret === 'string' ? options.secret : options.secret.reveal();
  if (secret === '') throw new ConfigError('webhook.secret is required when webhook.urls is set (set PGWARDEN_WEBHOOK_SECRET, e.g. whsec_<base64>)');
  for (const url of options.urls) {
    const protocol = new URL(url).protocol;
    if (protocol !== 'http:' && protocol !== 'https:') throw new ConfigError(`webhook.urls: ${safeTarget(url)} is not an http(s) URL`);
  }
  const baseDelay = options.baseDelayMs ?? 1000;
  const maxDelay = options.maxDelayMs ?? 60_000;
  const closing = new AbortController();

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      closing.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }

  /** One event to one URL: same webhook-id on every attempt (receivers de-duplicate on it), fresh timestamp and signature. */
  async function deliver(url: string, messageId: string, body: string): Promise<void> {
    let last = '';
    for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
      if (closing.signal.aborted) throw new Error(`webhook to ${safeTarget(url)}: channel closed before delivery`);
      const timestamp = Math.floor(Date.now() / 1000);
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'pgwarden-webhook',
            'webhook-id': messageId,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': signWebhook(secret, messageId, timestamp, body),
          },
          body,
          signal: AbortSignal.any([AbortSignal.timeout(options.timeoutMs), closing.signal]),
          redirect: 'manual',
        });
        await response.body?.cancel().catch(() => {});
        if (response.status >= 200 && response.status < 300) return;
        last = `HTTP ${response.status}`;
        if (!isRetryable(response.status)) break;
      } catch (err) {
        last = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${options.timeoutMs} ms` : err instanceof Error ? err.message : String(err);
      }
      if (attempt < options.maxAttempts) {
        const delay = Math.min(maxDelay, baseDelay * 2 ** (attempt - 1)) * (0.8 + Math.random() * 0.4);
        options.logger?.debug({ target: safeTarget(url), attempt, error: last, retry_in_ms: Math.round(delay) }, 'webhook: delivery failed; retrying');
        await sleep(delay);
      }
    }
    throw new Error(`webhook to ${safeTarget(url)} failed: ${last}`);
  }

  async function send(type: WebhookEventType, request: ApprovalRequest): Promise<void> {
    const data = {
      ...toApiJson(request),
      ...(options.publicUrl
        ? { links: { console: approvalUrl(options.publicUrl, request.id), decision: `${options.publicUrl.replace(/\/+$/, '')}/api/approvals/${request.id}/decision` } }
        : {}),
    };
    const body = JSON.stringify({ type, timestamp: new Date().toISOString(), data });
    const results = await Promise.allSettled(options.urls.map((url) => deliver(url, newWebhookMessageId(), body)));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    if (failures.length > 0) throw new Error(`${failures.length} of ${options.urls.length} webhook deliveries of ${type} for ${request.id} failed: ${failures.join('; ')}`);
  }

  return {
    name: 'webhook',
    requested: (request) => send(WebhookEventType.requested, request),
    updated: (request) => send(WebhookEventType.updated, request),
    async close() {
      closing.abort();
    },
  };
}
