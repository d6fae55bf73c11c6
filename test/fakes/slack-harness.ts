// A whole Slack setup for tests: the fake Web API with a workspace of users, the real store, approval service and HTTP server with the Slack channel mounted; and a whole pgwarden (startApp) pointed at the fake.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RetryOptions } from '@slack/web-api';
import { configSchema, loadConfig, type Config } from '../../src/config.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { nullAuditLog } from '../../src/audit/record.js';
import { createMemoryStore } from '../../src/approvals/memory-store.js';
import { createApprovalService, type ApprovalService } from '../../src/approvals/service.js';
import type { PendingStore } from '../../src/approvals/store.js';
import type { ApprovalChannel } from '../../src/approvals/channels/channel.js';
import type { PendingApproval } from '../../src/approvals/service-types.js';
import { createSlackChannel, type SlackChannel } from '../../src/approvals/channels/slack/slack-channel.js';
import { createHttpServer, type HttpServer } from '../../src/http/server.js';
import { mountSlackRoute } from '../../src/http/routes/slack.js';
import { startApp, type AppOptions } from '../../src/app.js';
import { captureLogs, type LogCapture } from '../helpers/log-capture.js';
import { TEST_SECRETS } from '../helpers/secrets.js';
import { TEST_RULES, TOKENS, type TestApp } from '../helpers/app.js';
import { pgUrl } from '../helpers/env.js';
import { openInput, type OpenSpec } from './teams-harness.js';
import { startFakeSlackApi, type FakeSlackApi, type OpenedView, type StoredSlackMessage } from './slack-api.js';
import { blockActionsPayload, messageFor, postSigned, signInteraction, viewSubmissionPayload, type ModalInputs, type PostResult, type SlackTestUser } from './slack-interactions.js';

export const SLACK_TOKEN = TEST_SECRETS.slackBotToken;
export const SLACK_SECRET = TEST_SECRETS.slackSigningSecret;
export const APPROVALS_CHANNEL = 'C0APPROVALS';
export const SECURITY_CHANNEL = 'C0SECURITY';

export const S_ALICE: SlackTestUser = { id: 'U0ALICE01', name: 'alice', email: 'alice@example.com' };
export const S_BOB: SlackTestUser = { id: 'U0BOB0002', name: 'bob', email: 'bob@example.com' };
export const S_OWEN: SlackTestUser = { id: 'U0OWEN003', name: 'owen', email: 'owen@example.com' };
export const S_MALLORY: SlackTestUser = { id: 'U0MALLORY', name: 'mallory', email: 'mallory@example.com' };
/** The Slack account of the Postgres user `postgres` (the requester in whole-app tests, where it is also in the dba group). */
export const S_POSTGRES: SlackTestUser = { id: 'U0PGUSER4', name: 'postgres', email: 'postgres@example.com' };

/** Explicit identity mappings most tests use: Mallory is deliberately absent. */
export const TEST_IDENTITIES: Record<string, string> = {
  [S_ALICE.id]: 'alice@example.com',
  [S_BOB.id]: 'bob@example.com',
  [S_OWEN.id]: 'owen@example.com',
  [S_POSTGRES.id]: 'postgres',
};

/** Retries fast enough for tests; the production policy is DELIVERY_RETRY in client.ts. */
export const FAST_RETRY: RetryOptions = { retries: 3, factor: 1, minTimeout: 50, maxTimeout: 50, randomize: false };

/** The fake Web API with the test workspace's users and channels. */
export async function startSlackWorkspace(): Promise<FakeSlackApi> {
  const api = await startFakeSlackApi({ token: SLACK_TOKEN });
  for (const u of [S_ALICE, S_BOB, S_OWEN, S_MALLORY, S_POSTGRES]) {
    api.users.set(u.id, { id: u.id, name: u.name, is_email_confirmed: true, profile: { email: u.email, real_name: u.name } });
  }
  api.channels.add(APPROVALS_CHANNEL);
  api.channels.add(SECURITY_CHANNEL);
  return api;
}

export interface SlackHarnessOptions {
  /** Overrides of the `slack:` config block. */
  readonly slack?: Record<string, unknown>;
  readonly channels?: ApprovalChannel[];
  readonly store?: PendingStore;
  readonly api?: FakeSlackApi;
  readonly redactLiterals?: boolean;
  readonly retry?: RetryOptions;
  readonly now?: () => number;
}

export interface SlackHarness {
  readonly api: FakeSlackApi;
  readonly store: PendingStore;
  readonly service: ApprovalService;
  readonly channel: SlackChannel;
  readonly http: HttpServer;
  readonly metrics: Metrics;
  readonly logs: LogCapture;
  readonly baseUrl: string;
  readonly config: Config['slack'];
  open(spec?: Partial<OpenSpec>): Promise<PendingApproval>;
  /** The message posted for `requestId` in `channel` (waits for it). */
  message(requestId: string, channel?: string): Promise<StoredSlackMessage>;
  /** `user` clicks Approve or Deny on the message for `requestId`. */
  click(user: SlackTestUser, action: 'pgwarden_approve' | 'pgwarden_deny', requestId: string, channel?: string): Promise<PostResult>;
  /** The next modal opened for `user` (waits for it). */
  modalFor(user: SlackTestUser, after?: number): Promise<OpenedView>;
  /** `user` submits `view` with these inputs. */
  submit(user: SlackTestUser, view: OpenedView, inputs?: ModalInputs): Promise<PostResult>;
  /** Click, wait for the modal, submit: the whole decision as an approver makes it. */
  decide(user: SlackTestUser, decision: 'approve' | 'deny', requestId: string, inputs?: ModalInputs, channel?: string): Promise<PostResult>;
  close(): Promise<void>;
}

export async function startSlackHarness(options: SlackHarnessOptions = {}): Promise<SlackHarness> {
  const api = options.api ?? (await startSlackWorkspace());
  const store = options.store ?? createMemoryStore();
  const metrics = createMetrics({ processMetrics: false });
  // Trace level: the SDK's own request lines are checked for secrets by the suite-wide log check as well.
  const logs = captureLogs({ level: 'trace' });
  const config = configSchema.parse({
    slack: { enabled: true, bot_token: SLACK_TOKEN, signing_secret: SLACK_SECRET, channels: [APPROVALS_CHANNEL], identities: TEST_IDENTITIES, ...options.slack },
  }).slack;
  const publicUrl = 'http://pgwarden.test';
  let service!: ApprovalService;
  const channel = createSlackChannel({
    config,
    store,
    decide: (input) => service.decide(input),
    logger: logs.logger,
    metrics,
    publicUrl,
    redactLiterals: options.redactLiterals ?? false,
    slackApiUrl: api.url,
    retry: options.retry ?? FAST_RETRY,
    ...(options.now ? { now: options.now } : {}),
  });
  service = createApprovalService({ store, channels: [channel, ...(options.channels ?? [])], audit: nullAuditLog, metrics, logger: logs.logger, instance: 'test-instance', publicUrl, progressIntervalMs: 0 });
  const http = createHttpServer({ metrics, approvals: service, tokens: { ...TOKENS }, readiness: {}, logger: logs.logger, publicUrl });
  mountSlackRoute(http, channel, channel.actionsEndpoint);
  const { port } = await http.listen('127.0.0.1:0');
  const baseUrl = `http://127.0.0.1:${port}`;
  const post = (payload: unknown) => postSigned(baseUrl, signInteraction(payload, SLACK_SECRET));

  const harness: SlackHarness = {
    api,
    store,
    service,
    channel,
    http,
    metrics,
    logs,
    baseUrl,
    config,
    open: (spec) => service.open(openInput(spec)),
    message: (requestId, where = APPROVALS_CHANNEL) => api.waitFor(() => messageFor(api, where, requestId)),
    async click(user, action, requestId, where = APPROVALS_CHANNEL) {
      const message = await harness.message(requestId, where);
      return post(blockActionsPayload(api, user, message, action));
    },
    modalFor: (user, after = 0) => api.waitFor(() => api.views.slice(after).find((v) => v.user === user.id)),
    submit: (user, view, inputs = {}) => post(viewSubmissionPayload(api, user, view, inputs)),
    async decide(user, decision, requestId, inputs = {}, where = APPROVALS_CHANNEL) {
      const before = api.views.length;
      const clicked = await harness.click(user, decision === 'approve' ? 'pgwarden_approve' : 'pgwarden_deny', requestId, where);
      if (clicked.status !== 200) return clicked;
      return harness.submit(user, await harness.modalFor(user, before), inputs);
    },
    async close() {
      await service.close();
      await http.close();
      await channel.close();
      if (!options.api) await api.close();
      if (!options.store) await store.close();
    },
  };
  return harness;
}

/** A whole pgwarden (startApp, like test/helpers/app.ts) with Slack on and pointed at `api`. */
export async function startSlackApp(
  api: FakeSlackApi,
  opts: { redis?: string; redisPrefix?: string; overrides?: Record<string, unknown>; teams?: AppOptions['teams']; rules?: string } = {},
): Promise<TestApp & { logs: LogCapture }> {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-slack-app-'));
  const rulesFile = join(dir, 'rules.yaml');
  writeFileSync(rulesFile, opts.rules ?? TEST_RULES);
  const auditFile = join(dir, 'audit.jsonl');
  const config = loadConfig(
    { upstream: pgUrl(), listen: '127.0.0.1:0', http: '127.0.0.1:0', rules: rulesFile, audit: auditFile, ...(opts.redis ? { redis: opts.redis } : {}) },
    { PGWARDEN_SLACK_BOT_TOKEN: SLACK_TOKEN, PGWARDEN_SLACK_SIGNING_SECRET: SLACK_SECRET },
    {
      'approvals.api_tokens': { ...TOKENS },
      'approvals.progress_interval': '1s',
      'slack.enabled': true,
      'slack.channels': [APPROVALS_CHANNEL],
      'slack.identities': TEST_IDENTITIES,
      ...(opts.redisPrefix ? { redis_key_prefix: opts.redisPrefix } : {}),
      ...opts.overrides,
    },
  );
  const logs = captureLogs({ level: 'debug' });
  const app = await startApp({ config, logger: logs.logger, slack: { slackApiUrl: api.url, retry: FAST_RETRY }, ...(opts.teams ? { teams: opts.teams } : {}) });
  return Object.assign(app, { port: app.proxyAddress.port, api: `http://127.0.0.1:${app.httpAddress.port}`, auditFile, logs });
}
