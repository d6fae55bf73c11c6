// A local Bot Connector (the Teams side of the Bot Framework REST API): records what the SDK sends and keeps each posted message's latest content.
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface ConnectorCall {
  readonly method: string;
  readonly path: string;
  /** Decoded conversation id, when the path has one. */
  readonly conversationId?: string;
  readonly activityId?: string;
  readonly body: unknown;
  /** The Authorization header the SDK sent (outbound token). */
  readonly authorization?: string;
}

export interface StoredMessage {
  readonly conversationId: string;
  readonly activityId: string;
  /** Latest content: the POSTed activity, replaced by each PUT. */
  activity: Record<string, unknown>;
  readonly history: Record<string, unknown>[];
}

export interface RosterMember {
  readonly id: string;
  readonly aadObjectId?: string;
  readonly name?: string;
  readonly userPrincipalName?: string;
  readonly email?: string;
}

export interface InjectedResponse {
  /** Only a call with this method takes this answer (default: the next call of any method). */
  readonly method?: string;
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
}

export interface FakeBotConnector {
  /** The serviceUrl activities carry and the SDK posts to. */
  readonly url: string;
  readonly calls: ConnectorCall[];
  readonly messages: Map<string, StoredMessage>;
  /** Members GET /v3/conversations/:id/members/:memberId answers with (any conversation). */
  readonly roster: Map<string, RosterMember>;
  /** Messages posted to a conversation, oldest first. */
  messagesIn(conversationId: string): StoredMessage[];
  /** The adaptive card of a stored message (first attachment's content). */
  cardOf(message: StoredMessage): Record<string, unknown>;
  /** Makes the next `n` writes (POST, PUT, DELETE) answer 500 (delivery failure tests); reads such as roster lookups are not affected. */
  failNext(n: number): void;
  /** The next calls get these answers, in order (throttling and retry tests), e.g. { status: 429, headers: { 'Retry-After': '1' } }. */
  respondNext(...responses: InjectedResponse[]): void;
  /** Each call waits this long before answering (to make overlapping calls observable). */
  delayMs: number;
  /** Most calls that were in flight at once for one conversation, by conversation id. */
  readonly maxInFlight: Map<string, number>;
  /** Time (Date.now()) each call arrived, in order of `calls`. */
  readonly arrivals: number[];
  /** Resolves when `predicate` holds, checking after each call (rejects after `timeoutMs`). */
  waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? null : JSON.parse(text);
}

export async function startFakeBotConnector(): Promise<FakeBotConnector> {
  const calls: ConnectorCall[] = [];
  const messages = new Map<string, StoredMessage>();
  const roster = new Map<string, RosterMember>();
  const waiters = new Set<() => void>();
  let seq = 0;
  let failures = 0;
  const injected: InjectedResponse[] = [];
  const inFlight = new Map<string, number>();
  const maxInFlight = new Map<string, number>();
  const arrivals: number[] = [];
  const state = { delayMs: 0 };
  const key = (conversationId: string, activityId: string) => `${conversationId}\n${activityId}`;

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const body = await readJson(req).catch(() => undefined);
      const method = req.method ?? 'GET';
      // The SDK does not URL-encode conversation ids ("19:abc@thread.tacv2;messageid=1"): split on the fixed segments.
      const rawPath = (req.url ?? '/').split('?')[0]!;
      const m = /^\/v3\/conversations(?:\/(.+?))?(?:\/(activities|members|pagedMembers)(?:\/([^/]+))?)?$/.exec(rawPath);
      const conversationId = m?.[1] ? decodeURIComponent(m[1]) : undefined;
      const sub = m?.[2];
      const itemId = m?.[3] ? decodeURIComponent(m[3]) : undefined;
      const authorization = req.headers.authorization;
      arrivals.push(Date.now());
      calls.push({
        method,
        path: url.pathname,
        ...(conversationId ? { conversationId } : {}),
        ...(sub === 'activities' && itemId ? { activityId: itemId } : {}),
        body,
        ...(authorization ? { authorization } : {}),
      });
      const flightKey = conversationId ?? '(none)';
      inFlight.set(flightKey, (inFlight.get(flightKey) ?? 0) + 1);
      maxInFlight.set(flightKey, Math.max(maxInFlight.get(flightKey) ?? 0, inFlight.get(flightKey)!));
      if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
      const reply = (status: number, value?: unknown, headers: Record<string, string> = {}) => {
        inFlight.set(flightKey, inFlight.get(flightKey)! - 1);
        res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
        res.end(value === undefined ? '' : JSON.stringify(value));
        for (const w of [...waiters]) w();
      };
      if (!authorization?.startsWith('Bearer ')) return reply(401, { error: { code: 'Unauthorized', message: 'no bearer token' } });
      if (failures > 0 && method !== 'GET') {
        failures--;
        return reply(500, { error: { code: 'ServiceError', message: 'injected failure' } });
      }
      const at = injected.findIndex((r) => r.method === undefined || r.method === method);
      const next = at >= 0 ? injected.splice(at, 1)[0] : undefined;
      if (next) return reply(next.status, next.body ?? { error: { code: `Injected${next.status}`, message: 'injected response' } }, next.headers);
      if (!m) return reply(404, { error: { code: 'NotFound', message: `no fake for ${method} ${rawPath}` } });

      if (method === 'POST' && !conversationId) {
        const id = `a:fake-personal-${++seq}`;
        return reply(201, { id, activityId: '', serviceUrl: `http://${req.headers.host}` });
      }
      if (method === 'POST' && conversationId && sub === 'activities') {
        const activityId = itemId ?? `fake-activity-${++seq}`;
        const newId = itemId ? `fake-reply-${++seq}` : activityId;
        const activity = body as Record<string, unknown>;
        messages.set(key(conversationId, newId), { conversationId, activityId: newId, activity, history: [activity] });
        return reply(201, { id: newId });
      }
      if (method === 'PUT' && conversationId && sub === 'activities' && itemId) {
        const stored = messages.get(key(conversationId, itemId));
        if (!stored) return reply(404, { error: { code: 'NotFound', message: 'unknown activity' } });
        stored.activity = body as Record<string, unknown>;
        stored.history.push(stored.activity);
        return reply(200, { id: itemId });
      }
      if (method === 'GET' && conversationId && sub === 'pagedMembers') {
        // Pages of pageSize members; the continuation token is the next offset.
        const all = [...roster.values()];
        const size = Number(url.searchParams.get('pageSize') ?? 200);
        const from = Number(url.searchParams.get('continuationToken') ?? 0);
        const page = all.slice(from, from + size);
        return reply(200, { members: page, ...(from + size < all.length ? { continuationToken: String(from + size) } : {}) });
      }
      if (method === 'GET' && conversationId && sub === 'members' && !itemId) return reply(200, [...roster.values()]);
      if (method === 'GET' && conversationId && sub === 'members' && itemId) {
        const member = roster.get(itemId);
        return member ? reply(200, member) : reply(404, { error: { code: 'MemberNotFoundInConversation', message: 'no such member' } });
      }
      if (method === 'DELETE' && conversationId && sub === 'activities' && itemId) {
        messages.delete(key(conversationId, itemId));
        return reply(200);
      }
      return reply(404, { error: { code: 'NotFound', message: `no fake for ${method} ${rawPath}` } });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (!addr || typeof addr !== 'object') throw new Error('bot-connector: no address');
  const url = `http://127.0.0.1:${addr.port}`;

  return {
    url,
    calls,
    messages,
    roster,
    messagesIn(conversationId) {
      return [...messages.values()].filter((msg) => msg.conversationId === conversationId);
    },
    cardOf(message) {
      const attachments = message.activity.attachments as { content: Record<string, unknown> }[] | undefined;
      const content = attachments?.[0]?.content;
      if (!content) throw new Error('bot-connector: the message has no card attachment');
      return content;
    },
    failNext(n) {
      failures = n;
    },
    respondNext(...responses) {
      injected.push(...responses);
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    maxInFlight,
    arrivals,
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
          reject(new Error(`bot-connector: condition not met within ${timeoutMs} ms; calls so far: ${calls.map((c) => `${c.method} ${c.path}`).join(', ')}`));
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
