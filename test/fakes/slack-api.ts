// A local Slack Web API speaking the real REST shapes (form-encoded POST /api/<method>, {"ok":…} answers, 429 + Retry-After): records calls, keeps each message's latest blocks, enforces Block Kit limits like Slack, and injects faults on demand.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { validateMessage, validateView } from './slack-limits.js';

export interface SlackCall {
  readonly method: string;
  readonly params: Record<string, unknown>;
  /** When the request arrived (ms since epoch). */
  readonly at: number;
  /** The HTTP status the fake answered with. */
  status: number;
  /** false while the fake is still working on its answer (see latencyMs). */
  answered: boolean;
}

export interface StoredSlackMessage {
  readonly channel: string;
  readonly ts: string;
  text: string;
  blocks: Record<string, unknown>[];
  /** Every version: the post, then each chat.update. */
  readonly history: { text: string; blocks: Record<string, unknown>[] }[];
}

export interface Ephemeral {
  readonly channel: string;
  readonly user: string;
  readonly text: string;
}

export interface OpenedView {
  readonly id: string;
  readonly user: string;
  readonly triggerId: string;
  readonly view: Record<string, unknown>;
}

export interface FakeSlackUser {
  readonly id: string;
  readonly team_id?: string;
  readonly name?: string;
  readonly deleted?: boolean;
  readonly is_bot?: boolean;
  readonly is_app_user?: boolean;
  readonly is_restricted?: boolean;
  readonly is_ultra_restricted?: boolean;
  readonly is_email_confirmed?: boolean;
  readonly profile?: { readonly email?: string; readonly real_name?: string };
}

/** A canned answer for the next call of a method: an HTTP status (429 with Retry-After seconds, 5xx) or a Slack error. */
export type Fault = { readonly status: number; readonly retryAfter?: number } | { readonly error: string };

export interface FakeSlackApi {
  /** Base URL for the WebClient's slackApiUrl (ends in /api/). */
  readonly url: string;
  readonly teamId: string;
  readonly calls: SlackCall[];
  readonly messages: Map<string, StoredSlackMessage>;
  readonly ephemerals: Ephemeral[];
  readonly views: OpenedView[];
  readonly users: Map<string, FakeSlackUser>;
  /** Channels the bot is in (posting elsewhere answers channel_not_found). DMs opened by conversations.open are added. */
  readonly channels: Set<string>;
  /** Highest number of requests the fake was answering at once. */
  readonly maxInFlight: number;
  /** Every answer waits this long (to observe concurrency). */
  latencyMs: number;
  /** A trigger_id as Slack puts in an interaction payload for `user`; views.open accepts it for 3 seconds. */
  issueTrigger(user: string): string;
  /** Answers the next calls of `method` ('*' for any) with these faults, in order. */
  inject(method: string, ...faults: Fault[]): void;
  callsOf(method: string): SlackCall[];
  messagesIn(channel: string): StoredSlackMessage[];
  ephemeralsFor(user: string): Ephemeral[];
  waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

/** Slack's trigger_id lives this long. */
const TRIGGER_TTL_MS = 3000;

/** Arguments the SDK sends as JSON text inside the form. */
const JSON_PARAMS = new Set(['blocks', 'view', 'attachments', 'metadata']);

function decodeParams(req: IncomingMessage, raw: string): Record<string, unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
  if (type === 'application/json') return JSON.parse(raw) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  // The SDK form-encodes each argument; objects and arrays arrive as JSON strings.
  for (const [k, v] of new URLSearchParams(raw)) {
    out[k] = JSON_PARAMS.has(k) ? (JSON.parse(v) as unknown) : v;
  }
  return out;
}

export async function startFakeSlackApi(options: { token: string; teamId?: string; botUserId?: string }): Promise<FakeSlackApi> {
  const teamId = options.teamId ?? 'T0PGWARDEN';
  const calls: SlackCall[] = [];
  const messages = new Map<string, StoredSlackMessage>();
  const ephemerals: Ephemeral[] = [];
  const views: OpenedView[] = [];
  const users = new Map<string, FakeSlackUser>();
  const channels = new Set<string>();
  const triggers = new Map<string, { user: string; issuedAt: number }>();
  const faults = new Map<string, Fault[]>();
  const waiters = new Set<() => void>();
  let inFlight = 0;
  let maxInFlight = 0;
  let seq = 0;
  const fake = { latencyMs: 0 };
  const key = (channel: string, ts: string) => `${channel}/${ts}`;
  const nextTs = () => `${Math.floor(Date.now() / 1000)}.${String(++seq).padStart(6, '0')}`;

  function takeFault(method: string): Fault | undefined {
    for (const name of [method, '*']) {
      const queue = faults.get(name);
      if (queue && queue.length > 0) return queue.shift();
    }
    return undefined;
  }

  function answer(method: string, p: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://pgwarden-test.slack.com/', team: 'pgwarden-test', user: 'pgwarden', team_id: teamId, user_id: options.botUserId ?? 'U0BOT', bot_id: 'B0BOT' };
      case 'chat.postMessage': {
        const channel = String(p.channel ?? '');
        if (!channels.has(channel)) return { ok: false, error: 'channel_not_found' };
        const problems = validateMessage(p);
        if (problems.length > 0) return { ok: false, error: 'invalid_blocks', errors: problems, response_metadata: { messages: problems.map((m) => `[ERROR] ${m}`) } };
        const ts = nextTs();
        const text = String(p.text ?? '');
        const blocks = (p.blocks as Record<string, unknown>[] | undefined) ?? [];
        messages.set(key(channel, ts), { channel, ts, text, blocks, history: [{ text, blocks }] });
        return { ok: true, channel, ts, message: { type: 'message', text, blocks, ts, bot_id: 'B0BOT' } };
      }
      case 'chat.update': {
        const stored = messages.get(key(String(p.channel), String(p.ts)));
        if (!stored) return { ok: false, error: 'message_not_found' };
        const problems = validateMessage(p);
        if (problems.length > 0) return { ok: false, error: 'invalid_blocks', errors: problems };
        stored.text = String(p.text ?? '');
        stored.blocks = (p.blocks as Record<string, unknown>[] | undefined) ?? [];
        stored.history.push({ text: stored.text, blocks: stored.blocks });
        return { ok: true, channel: stored.channel, ts: stored.ts, text: stored.text };
      }
      case 'chat.postEphemeral': {
        const channel = String(p.channel ?? '');
        if (!channels.has(channel)) return { ok: false, error: 'channel_not_found' };
        if (!users.has(String(p.user))) return { ok: false, error: 'user_not_in_channel' };
        ephemerals.push({ channel, user: String(p.user), text: String(p.text ?? '') });
        return { ok: true, message_ts: nextTs() };
      }
      case 'views.open': {
        const trigger = triggers.get(String(p.trigger_id));
        if (!trigger) return { ok: false, error: 'invalid_trigger_id' };
        if (Date.now() - trigger.issuedAt > TRIGGER_TTL_MS) return { ok: false, error: 'expired_trigger_id' };
        triggers.delete(String(p.trigger_id));
        const view = p.view as Record<string, unknown>;
        const problems = validateView(view);
        if (problems.length > 0) return { ok: false, error: 'invalid_arguments', errors: problems };
        const id = `V${randomBytes(5).toString('hex').toUpperCase()}`;
        views.push({ id, user: trigger.user, triggerId: String(p.trigger_id), view });
        return { ok: true, view: { ...view, id, team_id: teamId, state: { values: {} }, hash: `${Date.now()}.${id}` } };
      }
      case 'users.info': {
        const user = users.get(String(p.user));
        return user ? { ok: true, user: { team_id: teamId, ...user } } : { ok: false, error: 'user_not_found' };
      }
      case 'users.lookupByEmail': {
        const email = String(p.email ?? '').toLowerCase();
        const user = [...users.values()].find((u) => u.profile?.email?.toLowerCase() === email);
        return user ? { ok: true, user: { team_id: teamId, ...user } } : { ok: false, error: 'users_not_found' };
      }
      case 'conversations.open': {
        const user = String(p.users ?? '');
        if (!users.has(user)) return { ok: false, error: 'user_not_found' };
        const id = `D${user.slice(1)}`;
        channels.add(id);
        return { ok: true, channel: { id } };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const chunks: Buffer[] = [];
      for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
      const method = (req.url ?? '/').split('?')[0]!.replace(/^\/api\//, '');
      let params: Record<string, unknown> = {};
      try {
        params = decodeParams(req, Buffer.concat(chunks).toString('utf8'));
      } catch {
        params = {};
      }
      const call: SlackCall = { method, params, at: Date.now(), status: 200, answered: false };
      calls.push(call);
      if (fake.latencyMs > 0) await new Promise((r) => setTimeout(r, fake.latencyMs));
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        call.status = status;
        call.answered = true;
        inFlight--;
        res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
        res.end(JSON.stringify(body));
        for (const w of [...waiters]) w();
      };
      if (req.method !== 'POST') return send(405, { ok: false, error: 'method_not_allowed' });
      if (req.headers.authorization !== `Bearer ${options.token}`) return send(200, { ok: false, error: 'invalid_auth' });
      const fault = takeFault(method);
      if (fault && 'status' in fault) {
        return send(fault.status, { ok: false, error: fault.status === 429 ? 'ratelimited' : 'internal_error' }, fault.retryAfter !== undefined ? { 'Retry-After': String(fault.retryAfter) } : {});
      }
      if (fault) return send(200, { ok: false, error: fault.error });
      send(200, answer(method, params));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (!addr || typeof addr !== 'object') throw new Error('slack-api: no address');

  return {
    url: `http://127.0.0.1:${addr.port}/api/`,
    teamId,
    calls,
    messages,
    ephemerals,
    views,
    users,
    channels,
    get maxInFlight() {
      return maxInFlight;
    },
    get latencyMs() {
      return fake.latencyMs;
    },
    set latencyMs(ms: number) {
      fake.latencyMs = ms;
    },
    issueTrigger(user) {
      const id = `${Date.now()}.${randomBytes(6).toString('hex')}`;
      triggers.set(id, { user, issuedAt: Date.now() });
      return id;
    },
    inject(method, ...list) {
      faults.set(method, [...(faults.get(method) ?? []), ...list]);
    },
    callsOf(method) {
      return calls.filter((c) => c.method === method);
    },
    messagesIn(channel) {
      return [...messages.values()].filter((m) => m.channel === channel);
    },
    ephemeralsFor(user) {
      return ephemerals.filter((e) => e.user === user);
    },
    waitFor(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          let value;
          try {
            value = predicate();
          } catch (err) {
            cleanup();
            reject(err as Error);
            return;
          }
          if (value) {
            cleanup();
            resolve(value);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`slack-api: condition not met within ${timeoutMs} ms; calls so far: ${calls.map((c) => `${c.method}=${c.status}`).join(', ')}`));
        }, timeoutMs);
        // Polling as well: the condition may depend on state outside this server (the store).
        const poll = setInterval(check, 25);
        const cleanup = () => {
          clearTimeout(timer);
          clearInterval(poll);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
