// A whole Teams setup for tests: fake Bot Connector, fake JWKS, the real memory store, approval service and HTTP server with the Teams channel mounted.
import { randomUUID } from 'node:crypto';
import { configSchema, type Config } from '../../src/config.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { silentLogger } from '../../src/log.js';
import type { Logger } from 'pino';
import { nullAuditLog } from '../../src/audit/record.js';
import { createMemoryStore } from '../../src/approvals/memory-store.js';
import { createApprovalService, type ApprovalService } from '../../src/approvals/service.js';
import type { PendingStore } from '../../src/approvals/store.js';
import type { ApprovalChannel } from '../../src/approvals/channels/channel.js';
import type { OpenApprovalInput, PendingApproval } from '../../src/approvals/service-types.js';
import type { Category, StatementFacts } from '../../src/sql/types.js';
import type { ApprovalScope } from '../../src/policy/verdict.js';
import { createHttpServer, type HttpServer } from '../../src/http/server.js';
import { mountTeamsConversationsRoute, mountTeamsRoute } from '../../src/http/routes/teams.js';
import { createTeamsChannel, type TeamsChannel } from '../../src/approvals/channels/teams/channel.js';
import { TeamsVerb } from '../../src/approvals/channels/teams/card.js';
import { startBotJwks, type BotJwks } from './bot-jwks.js';
import { startFakeBotConnector, type FakeBotConnector } from './bot-connector.js';

export const TEST_APP_ID = '00000000-0000-4000-8000-00000000b07a';
export const TEST_TENANT_ID = '11111111-1111-4111-8111-111111111111';
export const TEST_CHANNEL_ID = '19:approvals-channel@thread.tacv2';

/** A Teams user as the tests click with. */
export interface TestTeamsUser {
  readonly id: string;
  readonly aadObjectId: string;
  readonly name: string;
}

export const ALICE: TestTeamsUser = { id: '29:alice-mri', aadObjectId: 'aaaaaaaa-0000-4000-8000-000000000001', name: 'Alice' };
export const BOB: TestTeamsUser = { id: '29:bob-mri', aadObjectId: 'bbbbbbbb-0000-4000-8000-000000000002', name: 'Bob' };
export const MALLORY: TestTeamsUser = { id: '29:mallory-mri', aadObjectId: 'cccccccc-0000-4000-8000-000000000003', name: 'Mallory' };
export const AGENT_OWNER: TestTeamsUser = { id: '29:owner-mri', aadObjectId: 'dddddddd-0000-4000-8000-000000000004', name: 'Owen' };

export interface TeamsHarnessOptions {
  /** Overrides of the `teams:` config block. */
  readonly teams?: Record<string, unknown>;
  /** Extra channels besides Teams (e.g. a recorder). */
  readonly channels?: ApprovalChannel[];
  readonly store?: PendingStore;
  readonly redactLiterals?: boolean;
  /** Publishes the app's logs here (default: silent). */
  readonly logger?: Logger;
  /** Approver tokens for the HTTP API (identity → token). */
  readonly tokens?: Record<string, string>;
}

export interface TeamsHarness {
  readonly connector: FakeBotConnector;
  readonly jwks: BotJwks;
  readonly store: PendingStore;
  readonly service: ApprovalService;
  readonly channel: TeamsChannel;
  readonly http: HttpServer;
  readonly metrics: Metrics;
  /** http://127.0.0.1:<port> of pgwarden's HTTP server. */
  readonly baseUrl: string;
  readonly config: Config['teams'];
  /** POSTs an activity to /api/messages; `token` null sends none, undefined signs a valid one. */
  post(activity: Record<string, unknown>, options?: { token?: string | null }): Promise<{ status: number; body: unknown }>;
  /** An `adaptiveCard/action` invoke from `user` on the card of `requestId`. */
  click(user: TestTeamsUser, verb: string, requestId: string, inputs?: Record<string, unknown>, options?: { token?: string | null }): Promise<{ status: number; body: unknown }>;
  /** Opens an approval request the way the proxy's gate would. */
  open(input?: Partial<OpenSpec>): Promise<PendingApproval>;
  close(): Promise<void>;
}

export interface OpenSpec {
  readonly sql: string;
  readonly categories: Category[];
  readonly approvers: string[];
  readonly user: string;
  readonly owner?: string;
  readonly quorum: number;
  readonly timeoutMs: number;
  readonly scopes: ApprovalScope[];
  readonly statedReason: string | null;
  readonly tables: string[];
}

function statementFacts(sql: string, categories: Category[], tables: string[] = ['public.t']): StatementFacts {
  return {
    kind: 'DropStmt',
    categories,
    tables,
    columns: [],
    columnsWritten: [],
    functions: [],
    bounded: true,
    limit: null,
    transaction: null,
    fingerprint: 'f00dfeed',
    normalized: sql.replace(/'[^']*'/g, '$1'),
    text: sql,
  };
}

export function openInput(spec: Partial<OpenSpec> = {}): OpenApprovalInput {
  const sql = spec.sql ?? 'DROP TABLE t';
  const categories = spec.categories ?? ['ddl'];
  return {
    sql,
    facts: { text: sql, statements: [statementFacts(sql, categories, spec.tables)], categories, parseError: null },
    verdict: {
      action: 'review',
      rule: 'ddl',
      reason: 'category ddl matched rule ddl',
      statementIndex: 0,
      review: {
        approvers: spec.approvers ?? ['alice@example.com', 'bob@example.com'],
        groups: ['dba'],
        quorum: spec.quorum ?? 1,
        timeoutMs: spec.timeoutMs ?? 60_000,
        scopes: spec.scopes ?? ['once', 'fingerprint'],
        grantTtlMs: 3_600_000,
      },
    },
    actor: { user: spec.user ?? 'agent_ci', application: 'claude-agent', address: '10.0.0.7', ...(spec.owner ? { owner: spec.owner } : {}) },
    database: 'app',
    statedReason: spec.statedReason === undefined ? 'cleaning up the staging table' : spec.statedReason,
    connectionId: `conn-${randomUUID().slice(0, 8)}`,
  };
}

export async function startTeamsHarness(options: TeamsHarnessOptions = {}): Promise<TeamsHarness> {
  const jwks = await startBotJwks(TEST_APP_ID);
  const connector = await startFakeBotConnector();
  const store = options.store ?? createMemoryStore();
  const metrics = createMetrics();
  const config = configSchema.parse({
    teams: {
      enabled: true,
      app_id: TEST_APP_ID,
      tenant_id: TEST_TENANT_ID,
      conversation_id: TEST_CHANNEL_ID,
      identities: {
        [ALICE.aadObjectId]: 'alice@example.com',
        'bob@example.com': 'bob@example.com',
        [AGENT_OWNER.aadObjectId]: 'owen@example.com',
        [MALLORY.aadObjectId]: 'mallory@example.com',
      },
      ...options.teams,
    },
  }).teams;
  const publicUrl = 'http://pgwarden.test';
  let service!: ApprovalService;
  const channel = createTeamsChannel({
    config,
    store,
    decide: (input) => service.decide(input),
    logger: options.logger ?? silentLogger,
    metrics,
    publicUrl,
    redactLiterals: options.redactLiterals ?? false,
    ...teamsSeams(jwks, connector),
  });
  service = createApprovalService({
    store,
    channels: [channel, ...(options.channels ?? [])],
    audit: nullAuditLog,
    metrics,
    logger: silentLogger,
    instance: 'test-instance',
    publicUrl,
    progressIntervalMs: 0,
  });
  const http = createHttpServer({ metrics, approvals: service, tokens: options.tokens ?? {}, readiness: {}, logger: silentLogger, publicUrl });
  mountTeamsRoute(http, channel, channel.messagingEndpoint);
  mountTeamsConversationsRoute(http, channel);
  const { port } = await http.listen('127.0.0.1:0');
  const baseUrl = `http://127.0.0.1:${port}`;

  const post = (activity: Record<string, unknown>, postOptions: { token?: string | null } = {}) => postActivity(baseUrl, jwks, activity, postOptions.token);

  return {
    connector,
    jwks,
    store,
    service,
    channel,
    http,
    metrics,
    baseUrl,
    config,
    post,
    click(user, verb, requestId, inputs = {}, clickOptions = {}) {
      return post(cardActionActivity(user, verb, requestId, connector.url, inputs), clickOptions);
    },
    open(spec) {
      return service.open(openInput(spec));
    },
    async close() {
      await service.close();
      await http.close();
      await channel.close();
      await connector.close();
      await jwks.close();
      if (!options.store) await store.close();
    },
  };
}

/** The test seams createTeamsChannel takes, pointing the real SDK at the fakes (for an app composed elsewhere, e.g. the proxy end-to-end test). */
export function teamsSeams(jwks: BotJwks, connector: FakeBotConnector) {
  // Short backoff so retry tests run quickly; a Retry-After from the fake is still waited for in full.
  return { cloud: jwks.cloud, serviceUrl: connector.url, token: () => jwks.outboundToken(), retry: { baseDelayMs: 20, maxDelayMs: 100 } };
}

/** POSTs an activity to `${baseUrl}/api/messages` with a valid Bot Framework token for its serviceUrl (`token` null: none; a string: that one). */
export async function postActivity(baseUrl: string, jwks: BotJwks, activity: Record<string, unknown>, token?: string | null): Promise<{ status: number; body: unknown }> {
  const bearer = token === undefined ? await jwks.sign({ serviceUrl: String(activity.serviceUrl) }) : token;
  const res = await fetch(`${baseUrl}/api/messages`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify(activity),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

/** The `adaptiveCard/action` invoke Teams sends when `user` clicks `verb` on the card of `requestId` in the test channel. */
export function cardActionActivity(user: TestTeamsUser, verb: string, requestId: string, serviceUrl: string, inputs: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'invoke',
    name: 'adaptiveCard/action',
    id: `invoke-${randomUUID()}`,
    channelId: 'msteams',
    serviceUrl,
    timestamp: new Date().toISOString(),
    from: { id: user.id, name: user.name, aadObjectId: user.aadObjectId },
    recipient: { id: `28:${TEST_APP_ID}`, name: 'pgwarden' },
    conversation: { id: `${TEST_CHANNEL_ID};messageid=1`, conversationType: 'channel', tenantId: TEST_TENANT_ID, isGroup: true },
    channelData: { tenant: { id: TEST_TENANT_ID }, channel: { id: TEST_CHANNEL_ID }, team: { id: '19:team@thread.tacv2' } },
    value: {
      action: { type: 'Action.Execute', verb, data: { request_id: requestId, ...inputs } },
      trigger: verb === TeamsVerb.refresh ? 'automatic' : 'manual',
    },
  };
}

/** The adaptive card inside an `adaptiveCard/action` invoke response body. */
export function invokeCard(body: unknown): Record<string, unknown> {
  const b = body as { statusCode?: number; type?: string; value?: unknown };
  if (b?.type !== 'application/vnd.microsoft.card.adaptive') throw new Error(`expected a card response, got ${JSON.stringify(body).slice(0, 300)}`);
  return b.value as Record<string, unknown>;
}

export { cardText, cardVerbs } from './card-inspect.js';
