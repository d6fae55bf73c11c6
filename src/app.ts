// Composition root: builds the parse cache, policy, approvals store and service, channels, audit, metrics, the proxy
// listener and the HTTP server from one Config; starts them in order and stops them in reverse.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { ConfigError } from './errors.js';
import { splitHostPort } from './config.js';
import { startIdentity } from './app-identity.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createAnalyzer, functionCallFacts, loadSqlParser, type Analyzer } from './sql/analyze.js';
import { loadRules } from './policy/load.js';
import { reload as reloadRules, watchRules, type RulesWatcher } from './policy/watch.js';
import type { RuleSet } from './policy/evaluate.js';
import { createAuditLog, type AuditWriter } from './audit/writer.js';
import { createReadTally } from './audit/read-tally.js';
import { createSuggestionsProvider } from './audit/learn.js';
import { createMemoryStore } from './approvals/memory-store.js';
import { createRedisStore } from './approvals/redis-store.js';
import { createApprovalService } from './approvals/service.js';
import { assertClusterPrefix, parseRedisUrl } from './approvals/redis-connect.js';
import { createCancelRouter, type CancelRouter } from './approvals/cancel-route.js';
import type { ApprovalChannel } from './approvals/channels/channel.js';
import { createWebhookChannel } from './approvals/channels/webhook.js';
import { createTeamsChannel, type TeamsChannelDeps } from './approvals/channels/teams/channel.js';
import { checkSlackConfig, createSlackChannel, type SlackChannelDeps } from './approvals/channels/slack/slack-channel.js';
import type { PendingStore } from './approvals/store.js';
import { createProxy, type Proxy, type ProxyIdentity } from './proxy/listener.js';
import type { Gate } from './proxy/gate.js';
import { connectUpstream, type UpstreamTarget } from './proxy/upstream.js';
import { createPolicyGate } from './proxy/policy-gate.js';
import { createHttpServer, type HttpServer } from './http/server.js';
import { mountTeamsConversationsRoute, mountTeamsRoute } from './http/routes/teams.js';
import { mountSlackRoute } from './http/routes/slack.js';

export interface AppOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Test seams for the Teams channel (fake Bot Connector, local JWKS, token source). */
  readonly teams?: Pick<TeamsChannelDeps, 'cloud' | 'serviceUrl' | 'token' | 'retry'>;
  /** Test seams for the Slack channel (fake Web API URL, shorter retry backoff). */
  readonly slack?: Pick<SlackChannelDeps, 'slackApiUrl' | 'retry'>;
}

export interface App {
  readonly proxyAddress: { host: string; port: number };
  readonly httpAddress: { host: string; port: number };
  readonly publicUrl: string;
  readonly metrics: Metrics;
  readonly store: PendingStore;
  /** Re-reads the rules; an invalid version is refused and the old rules stay in force. */
  reloadRules(): boolean;
  /** Reopens the audit file after an external rotation (rename); the chain continues. */
  reopenAudit(): Promise<void>;
  /** Re-reads the TLS certificates and keys of both legs (SIGHUP); a broken new pair is refused and the old one stays. */
  reloadTls(): void;
  /** Graceful stop (SIGTERM/SIGINT): /readyz fails, the listener closes, sessions drain (config shutdown_grace), then close(). */
  shutdown(): Promise<void>;
  close(): Promise<void>;
}

type Service = ReturnType<typeof createApprovalService>;

/** Step 1: the SQL parser and the parse cache, with its metrics. */
async function startAnalyzer(config: Config, metrics: Metrics): Promise<Analyzer> {
  await loadSqlParser();
  return createAnalyzer({
    maxRows: config.limits.max_rows,
    cacheEntries: config.parse_cache.max_entries,
    cacheBytes: config.parse_cache.max_bytes,
    onCacheHit: () => metrics.parseCacheHits.inc(),
    onCacheMiss: (seconds) => {
      metrics.parseCacheMisses.inc();
      metrics.parseSeconds.observe(seconds);
    },
  });
}

interface LiveRules {
  current(): RuleSet;
  reload(): boolean;
  close(): void;
}

/** Shadow-mode rules are recorded, not enforced: say so whenever such rules come into force (docs/rules.md, "Shadow mode"). */
function logShadowMode(ruleSet: RuleSet, path: string, logger: Logger): void {
  if (!ruleSet.hasShadow) return;
  const shadow = ruleSet.rules.filter((r) => r.mode === 'shadow').map((r) => r.id);
  if (ruleSet.defaults.mode === 'shadow') logger.warn({ rules: path, shadow_rules: shadow.length }, 'defaults.mode is shadow: only rules with mode: enforce are enforced; every other statement runs and its verdict is only recorded');
  else logger.info({ rules: path, shadow_rules: shadow }, 'shadow-mode rules are recorded, not enforced');
}

/** Step 2: the rules, watched for changes; an invalid new version is refused and the old rules stay in force. */
function startRules(config: Config, metrics: Metrics, logger: Logger): LiveRules {
  let ruleSet: RuleSet = loadRules(config.rules);
  for (const w of ruleSet.warnings) logger.warn({ rules: config.rules }, w);
  logShadowMode(ruleSet, config.rules, logger);
  metrics.rulesLoaded.set(ruleSet.rules.length);
  // Both results exist from the start, so an alert on result="refused" sees the 0 → 1 step.
  for (const result of ['ok', 'refused'] as const) metrics.rulesReloads.inc({ result }, 0);
  const apply = (result: ReturnType<typeof reloadRules>): boolean => {
    if (!result.ok) {
      metrics.rulesReloads.inc({ result: 'refused' });
      logger.error({ rules: config.rules, error: result.error.message }, 'new rules refused; the previous rules stay in force');
      return false;
    }
    ruleSet = result.ruleSet;
    metrics.rulesReloads.inc({ result: 'ok' });
    metrics.rulesLoaded.set(ruleSet.rules.length);
    for (const w of ruleSet.warnings) logger.warn({ rules: config.rules }, w);
    logShadowMode(ruleSet, config.rules, logger);
    logger.info({ rules: config.rules, count: ruleSet.rules.length }, 'rules reloaded');
    return true;
  };
  const watcher: RulesWatcher = watchRules(config.rules, apply, { current: () => ruleSet });
  return { current: () => ruleSet, reload: () => apply(reloadRules(config.rules, ruleSet)), close: () => watcher.close() };
}

/** audit.flush.mode, defaulting to every_record when audit.required is on. */
function auditFlushMode(config: Config): 'every_record' | 'interval' {
  return config.audit.flush.mode ?? (config.audit.required ? 'every_record' : 'interval');
}

/** Step 3: the audit log (file and/or PostgreSQL table). */
function startAudit(config: Config, metrics: Metrics, logger: Logger, instance: string): Promise<AuditWriter> {
  if (config.audit.required && !config.audit.file && !config.audit.postgres) {
    throw new ConfigError('audit.required is on but no audit destination is configured: set --audit FILE (PGWARDEN_AUDIT) or audit.postgres, or turn audit.required off');
  }
  return createAuditLog({
    file: config.audit.file,
    flush: { mode: auditFlushMode(config), intervalMs: config.audit.flush.interval },
    maxBacklogBytes: config.audit.max_backlog,
    maxSqlBytes: config.audit.max_sql_length,
    deniedFlood: { burst: config.audit.denied_flood.burst, windowMs: config.audit.denied_flood.window },
    redactLiterals: config.audit.redact_literals,
    reads: config.audit.reads,
    readSampleRate: config.audit.read_sample_rate,
    postgres: config.audit.postgres,
    metrics,
    logger,
    instance,
  });
}

/** Step 4: the pending-approval store: Redis when configured (serving starts even while it is down), else in memory. */
async function startStore(config: Config, metrics: Metrics, logger: Logger, instance: string): Promise<PendingStore> {
  if (!config.redis) {
    metrics.redisUp.set(1);
    return createMemoryStore({ retentionMs: config.approvals.retention });
  }
  const redisStore = createRedisStore({
    url: config.redis,
    keyPrefix: config.redis_key_prefix,
    logger,
    metrics,
    instance,
    retentionMs: config.approvals.retention,
    heartbeatIntervalMs: config.approvals.heartbeat_interval,
    instanceTimeoutMs: config.approvals.instance_timeout,
  });
  // Allowed statements keep flowing while Redis is down; reviews fail closed with 58000.
  if (!(await redisStore.ready(5000))) logger.warn('Redis is not reachable yet: statements that need review are refused until it is');
  return redisStore;
}

/** Step 5: approval channels (webhook, Teams, Slack) and the approval service they feed. */
function startApprovals(
  config: Config,
  parts: { store: PendingStore; audit: AuditWriter; metrics: Metrics; logger: Logger; instance: string; publicUrl: string; http: HttpServer },
  teamsSeams: AppOptions['teams'],
  slackSeams: AppOptions['slack'],
): { service: Service; teams: ReturnType<typeof createTeamsChannel> | null; slack: ReturnType<typeof createSlackChannel> | null; hasApprovers: boolean } {
  const { store, audit, metrics, logger, instance, publicUrl, http } = parts;
  let service: Service | null = null;
  const channels: ApprovalChannel[] = [];
  if (config.webhook.urls.length > 0) {
    if (!config.webhook.secret) logger.warn('webhook.urls is set without webhook.secret: webhook payloads are signed with an empty key');
    channels.push(
      createWebhookChannel({ urls: config.webhook.urls, secret: config.webhook.secret ?? '', maxAttempts: config.webhook.max_attempts, timeoutMs: config.webhook.timeout, publicUrl, logger }),
    );
  }
  const teams = config.teams.enabled
    ? createTeamsChannel({
        config: config.teams,
        store,
        decide: (input) => service!.decide(input),
        logger,
        metrics,
        publicUrl,
        redactLiterals: config.audit.redact_literals,
        ...teamsSeams,
      })
    : null;
  if (teams) {
    channels.push(teams);
    mountTeamsRoute(http, teams, teams.messagingEndpoint);
  }
  // Mounted with Teams off too (answering enabled: false), so the console never meets a 404.
  mountTeamsConversationsRoute(http, teams);
  const slack = config.slack.enabled
    ? createSlackChannel({ config: config.slack, store, decide: (input) => service!.decide(input), logger, metrics, publicUrl, redactLiterals: config.audit.redact_literals, ...slackSeams })
    : null;
  if (slack) {
    channels.push(slack);
    mountSlackRoute(http, slack, slack.actionsEndpoint);
  }
  service = createApprovalService({
    store,
    channels,
    audit,
    metrics,
    logger,
    instance,
    publicUrl,
    progressIntervalMs: config.approvals.progress_interval,
    maxStoredSql: config.approvals.max_stored_sql,
    sweepIntervalMs: config.approvals.heartbeat_interval,
  });
  const hasApprovers = Object.keys(config.approvals.api_tokens).length > 0 || teams !== null || slack !== null || config.webhook.urls.length > 0;
  if (!hasApprovers) logger.warn('no approver is configured (approvals.api_tokens / PGWARDEN_API_TOKENS, teams, slack, webhook): statements that need review are refused');
  return { service, teams, slack, hasApprovers };
}

/** Step 6: the proxy listener, gated by policy; cancel keys routable through Redis when instances share one. */
async function startProxy(
  config: Config,
  upstream: UpstreamTarget,
  gate: Gate,
  metrics: Metrics,
  logger: Logger,
  cancelRouter: CancelRouter | null,
  identity: ProxyIdentity,
): Promise<{ proxy: Proxy; address: { host: string; port: number } }> {
  const proxy = createProxy({
    options: {
      upstream,
      startupTimeoutMs: config.limits.startup_timeout,
      connectTimeoutMs: 10_000,
      maxMessageSize: config.limits.max_message_size,
      maxStatementSize: config.limits.max_statement_size,
      maxStartupMessageSize: config.limits.max_startup_message_size,
      maxClientConnections: config.limits.max_client_connections,
      maxPreauthConnections: config.limits.max_preauth_connections,
    },
    gate: () => gate,
    logger,
    metrics,
    functionCallFacts,
    identity,
    ...(cancelRouter ? { cancelRoute: { nodeId: cancelRouter.nodeId, forward: (pid: number, secret: number) => cancelRouter.forward(pid, secret) } } : {}),
  });
  cancelRouter?.onCancel((pid, secret) => proxy.cancel(pid, secret));
  const listen = splitHostPort(config.listen);
  return { proxy, address: await proxy.listen(listen.host, listen.port) };
}

export async function startApp({ config, logger, teams: teamsSeams, slack: slackSeams }: AppOptions): Promise<App> {
  // Missing Slack secrets, a bad --redis URL (or a Cluster prefix without a hash tag) stop startup before anything listens.
  if (config.slack.enabled) checkSlackConfig(config.slack);
  if (config.redis) assertClusterPrefix(parseRedisUrl(config.redis), config.redis_key_prefix);
  const metrics = createMetrics();
  const instance = config.instance ?? `${hostname()}:${process.pid}`;
  const identity = startIdentity(config, logger, metrics);
  const upstream = identity.upstream;
  const analyzer = await startAnalyzer(config, metrics);
  const rules = startRules(config, metrics, logger);
  const audit = await startAudit(config, metrics, logger, instance);
  const store = await startStore(config, metrics, logger, instance);

  const httpHostPort = splitHostPort(config.http);
  let draining = false;
  let service: Service | null = null;
  const http = createHttpServer({
    metrics,
    tokens: config.approvals.api_tokens,
    readiness: {
      // Fails first on shutdown, so a load balancer stops sending new clients before the listener closes.
      accepting: () => !draining,
      // Readiness opens (and drops) a TCP connection exactly as a client session would.
      upstream: () => connectUpstream(upstream, 1000).then((socket) => (socket.destroy(), true), () => false),
      redis: () => store.isAvailable(),
      rules: () => rules.current().rules.length >= 0,
    },
    logger,
    ...(config.approvals.public_url ? { publicUrl: config.approvals.public_url } : {}),
    // The service is built once the HTTP port (publicUrl) and channels are known; its methods bind late.
    approvals: {
      decide: (input) => service!.decide(input),
      get: (id) => (service ? service.get(id) : store.get(id)),
      list: (filter) => (service ? service.list(filter) : store.list(filter)),
      store,
    },
    // Rule suggestions for approvers, learned from this instance's own audit file (docs/rules.md, "Suggestions").
    ...(config.audit.file ? { suggestions: createSuggestionsProvider({ file: config.audit.file, rules: () => rules.current(), maxRows: config.limits.max_rows }) } : {}),
  });
  const httpAddress = await http.listen(config.http);
  const publicUrl = config.approvals.public_url ?? `http://${httpHostPort.host.includes(':') ? `[${httpHostPort.host}]` : httpHostPort.host}:${httpAddress.port}`;

  const approvals = startApprovals(config, { store, audit, metrics, logger, instance, publicUrl, http }, teamsSeams, slackSeams);
  service = approvals.service;
  // Reads audit.reads leaves out are counted into `reads_unrecorded` records (replay reports what it could not see).
  const readTally = createReadTally(audit);
  const gate = createPolicyGate({
    analyzer,
    rules: () => rules.current(),
    approvals: approvals.hasApprovers ? service : null,
    audit,
    auditRequired: config.audit.required,
    auditWaits: auditFlushMode(config) === 'every_record' && (config.audit.file !== null || config.audit.postgres !== null),
    auditBarrier: () => audit.flush(),
    shouldAuditRead: () => readTally.shouldAuditRead(),
    metrics,
    logger,
  });
  const cancelRouter = config.redis
    ? await createCancelRouter({
        url: config.redis,
        keyPrefix: config.redis_key_prefix,
        instance,
        logger,
        refreshMs: config.approvals.heartbeat_interval,
        claimTtlMs: config.approvals.instance_timeout,
        // The store already waited for Redis: when it is down, do not delay serving again.
        connectWaitMs: store.isAvailable() ? 2000 : 0,
      })
    : null;
  let started: Awaited<ReturnType<typeof startProxy>>;
  try {
    started = await startProxy(config, upstream, gate, metrics, logger, cancelRouter, identity.proxy);
  } catch (err) {
    identity.close();
    await http.close();
    await cancelRouter?.close();
    throw err;
  }
  const { proxy, address: proxyAddress } = started;
  logger.info({ listen: `${proxyAddress.host}:${proxyAddress.port}`, upstream: upstream.display, http: `${httpAddress.host}:${httpAddress.port}`, rules: config.rules, redis: config.redis ? 'on' : 'in-memory' }, 'pgwarden is serving');

  return {
    proxyAddress,
    httpAddress,
    publicUrl,
    metrics,
    store,
    reloadRules: () => rules.reload(),
    reopenAudit: () => audit.reopen(),
    reloadTls: () => identity.reload(),
    async shutdown() {
      draining = true;
      logger.info({ sessions: proxy.sessionCount, grace_ms: config.shutdown_grace }, 'draining: idle sessions close now, running statements may finish');
      await proxy.drain(config.shutdown_grace);
      await closeAll();
    },
    close: () => closeAll(),
  };

  async function closeAll(): Promise<void> {
    draining = true;
    rules.close();
    identity.close();
    await proxy.close();
    await cancelRouter?.close();
    await service?.close();
    await http.close();
    await approvals.teams?.close();
    await approvals.slack?.close();
    await store.close();
    readTally.close();
    await audit.close();
  }
}
