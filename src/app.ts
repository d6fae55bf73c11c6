// Composition root: builds the parse cache, policy, approvals store and service, channels, audit, metrics, the proxy
// listener and the HTTP server from one Config; starts them in order and stops them in reverse.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { ConfigError } from './errors.js';
import { splitHostPort, upstreamTarget } from './config.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createAnalyzer, functionCallFacts, loadSqlParser, type Analyzer } from './sql/analyze.js';
import { loadRules } from './policy/load.js';
import { reload as reloadRules, watchRules, type RulesWatcher } from './policy/watch.js';
import type { RuleSet } from './policy/evaluate.js';
import { createAuditLog, type AuditWriter } from './audit/writer.js';
import { createMemoryStore } from './approvals/memory-store.js';
import { createRedisStore } from './approvals/redis-store.js';
import { createApprovalService } from './approvals/service.js';
import type { ApprovalChannel } from './approvals/channels/channel.js';
import { createWebhookChannel } from './approvals/channels/webhook.js';
import { createTeamsChannel, type TeamsChannelDeps } from './approvals/channels/teams.js';
import type { PendingStore } from './approvals/store.js';
import { createProxy, type Proxy } from './proxy/listener.js';
import type { Gate } from './proxy/gate.js';
import { connectUpstream, type UpstreamTarget } from './proxy/upstream.js';
import { createPolicyGate } from './proxy/policy-gate.js';
import { createHttpServer, type HttpServer } from './http/server.js';
import { mountTeamsRoute } from './http/routes/teams.js';

export interface AppOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Test seams for the Teams channel (fake Bot Connector, local JWKS, token source). */
  readonly teams?: Pick<TeamsChannelDeps, 'cloud' | 'serviceUrl' | 'token'>;
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
  close(): Promise<void>;
}

type Service = ReturnType<typeof createApprovalService>;

/** Step 1: the SQL parser and the parse cache, with its metrics. */
async function startAnalyzer(config: Config, metrics: Metrics): Promise<Analyzer> {
  await loadSqlParser();
  return createAnalyzer({
    maxRows: config.limits.max_rows,
    cacheEntries: config.parse_cache.max_entries,
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

/** Step 2: the rules, watched for changes; an invalid new version is refused and the old rules stay in force. */
function startRules(config: Config, metrics: Metrics, logger: Logger): LiveRules {
  let ruleSet: RuleSet = loadRules(config.rules);
  for (const w of ruleSet.warnings) logger.warn({ rules: config.rules }, w);
  metrics.rulesLoaded.set(ruleSet.rules.length);
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
    logger.info({ rules: config.rules, count: ruleSet.rules.length }, 'rules reloaded');
    return true;
  };
  const watcher: RulesWatcher = watchRules(config.rules, apply);
  return { current: () => ruleSet, reload: () => apply(reloadRules(config.rules)), close: () => watcher.close() };
}

/** Step 3: the audit log (file and/or PostgreSQL table). */
function startAudit(config: Config, metrics: Metrics, logger: Logger, instance: string): Promise<AuditWriter> {
  if (config.audit.required && !config.audit.file && !config.audit.postgres) {
    throw new ConfigError('audit.required is on but no audit destination is configured: set --audit FILE (PGWARDEN_AUDIT) or audit.postgres, or turn audit.required off');
  }
  return createAuditLog({
    file: config.audit.file,
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
async function startStore(config: Config, metrics: Metrics, logger: Logger): Promise<PendingStore> {
  if (!config.redis) {
    metrics.redisUp.set(1);
    return createMemoryStore();
  }
  const redisStore = createRedisStore({ url: config.redis, keyPrefix: config.redis_key_prefix, logger, metrics });
  // Allowed statements keep flowing while Redis is down; reviews fail closed with 58000.
  if (!(await redisStore.ready(5000))) logger.warn('Redis is not reachable yet: statements that need review are refused until it is');
  return redisStore;
}

/** Step 5: approval channels (webhook, Teams) and the approval service they feed. */
function startApprovals(
  config: Config,
  parts: { store: PendingStore; audit: AuditWriter; metrics: Metrics; logger: Logger; instance: string; publicUrl: string; http: HttpServer },
  teamsSeams: AppOptions['teams'],
): { service: Service; teams: ReturnType<typeof createTeamsChannel> | null; hasApprovers: boolean } {
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
  service = createApprovalService({ store, channels, audit, metrics, logger, instance, publicUrl, progressIntervalMs: config.approvals.progress_interval });
  const hasApprovers = Object.keys(config.approvals.api_tokens).length > 0 || teams !== null || config.webhook.urls.length > 0;
  if (!hasApprovers) logger.warn('no approver is configured (approvals.api_tokens / PGWARDEN_API_TOKENS, teams, webhook): statements that need review are refused');
  return { service, teams, hasApprovers };
}

/** Step 6: the proxy listener, gated by policy. */
async function startProxy(config: Config, upstream: UpstreamTarget, gate: Gate, metrics: Metrics, logger: Logger): Promise<{ proxy: Proxy; address: { host: string; port: number } }> {
  const proxy = createProxy({
    options: {
      upstream,
      startupTimeoutMs: config.limits.startup_timeout,
      connectTimeoutMs: 10_000,
      maxMessageSize: config.limits.max_message_size,
      maxStatementSize: config.limits.max_statement_size,
      maxStartupMessageSize: config.limits.max_startup_message_size,
      maxClientConnections: config.limits.max_client_connections,
    },
    gate: () => gate,
    logger,
    metrics,
    functionCallFacts,
  });
  const listen = splitHostPort(config.listen);
  return { proxy, address: await proxy.listen(listen.host, listen.port) };
}

export async function startApp({ config, logger, teams: teamsSeams }: AppOptions): Promise<App> {
  const metrics = createMetrics();
  const instance = config.instance ?? `${hostname()}:${process.pid}`;
  const upstream = upstreamTarget(config.upstream);
  const analyzer = await startAnalyzer(config, metrics);
  const rules = startRules(config, metrics, logger);
  const audit = await startAudit(config, metrics, logger, instance);
  const store = await startStore(config, metrics, logger);

  const httpHostPort = splitHostPort(config.http);
  let service: Service | null = null;
  const http = createHttpServer({
    metrics,
    tokens: config.approvals.api_tokens,
    readiness: {
      // Readiness opens (and drops) a TCP connection exactly as a client session would.
      upstream: () => connectUpstream(upstream, 1000).then((socket) => (socket.destroy(), true), () => false),
      redis: () => store.isAvailable(),
      rules: () => rules.current().rules.length >= 0,
    },
    logger,
    ...(config.approvals.public_url ? { publicUrl: config.approvals.public_url } : {}),
    // The service is built once the HTTP port (publicUrl) and channels are known; decide() binds to it late.
    approvals: { decide: (input) => service!.decide(input), store },
  });
  const httpAddress = await http.listen(config.http);
  const publicUrl = config.approvals.public_url ?? `http://${httpHostPort.host.includes(':') ? `[${httpHostPort.host}]` : httpHostPort.host}:${httpAddress.port}`;

  const approvals = startApprovals(config, { store, audit, metrics, logger, instance, publicUrl, http }, teamsSeams);
  service = approvals.service;
  const gate = createPolicyGate({
    analyzer,
    rules: () => rules.current(),
    approvals: approvals.hasApprovers ? service : null,
    audit,
    auditRequired: config.audit.required,
    shouldAuditRead: () => audit.shouldAuditRead(),
    metrics,
    logger,
  });
  let started: Awaited<ReturnType<typeof startProxy>>;
  try {
    started = await startProxy(config, upstream, gate, metrics, logger);
  } catch (err) {
    await http.close();
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
    async close() {
      rules.close();
      await proxy.close();
      await service?.close();
      await http.close();
      await approvals.teams?.close();
      await store.close();
      await audit.close();
    },
  };
}
