// Every pgwarden_* metric, declared once on one prom-client Registry. Label values come only from closed
// sets (category, action, rule id, outcome, reason): never SQL text, user names or addresses.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The closed label sets, created at zero when the registry is built: `increase()` and `rate()` only see a
 * counter's first increment when the series already existed, and an alert on an absent series never fires.
 * metrics.ts imports nothing from src/, so these repeat the source sets; test/unit/metrics.test.ts keeps them equal
 * to CloseReason, CATEGORIES, the policy actions and the approval outcomes.
 */
export const LABEL_VALUES = {
  closeReason: ['client_terminate', 'client_closed', 'upstream_closed', 'upstream_unavailable', 'protocol_violation', 'startup_timeout', 'auth_failed', 'tls_required', 'tls_handshake_failed', 'cancel_request', 'too_many_connections', 'too_many_preauth', 'shutdown', 'internal_error'],
  rejectReason: ['too_many_connections', 'too_many_preauth', 'tls_required'],
  category: ['read', 'write', 'export', 'ddl', 'grant', 'privileged', 'unknown'],
  action: ['allow', 'deny', 'review'],
  outcome: ['approved', 'denied', 'expired', 'withdrawn'],
  channel: ['teams', 'slack', 'webhook'],
  retryReason: ['rate_limited', 'server_error', 'network'],
  inboundRejectReason: ['bad_signature', 'stale_timestamp', 'replayed', 'malformed', 'foreign_workspace'],
  /** The usual errnos of a failed connect; another code still counts, from its second occurrence on for increase(). */
  upstreamCode: ['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET'],
  sink: ['file', 'postgres'],
  reloadResult: ['ok', 'refused'],
  auditLostReason: ['backlog_full', 'shutdown'],
  /** HTTP statuses of failed Bot Connector calls; `network` when no response came, `other` for the rest. */
  /** Authentication methods (AUTH_METHODS of policy/verdict.ts) and outcomes. */
  authMethod: ['passthrough', 'scram', 'oidc', 'cert'],
  authOutcome: ['success', 'failure', 'refused'],
  tlsLeg: ['client', 'upstream'],
  teamsStatus: ['400', '401', '403', '404', '412', '413', '429', '500', '502', '503', '504', 'network', 'other'],
} as const;

/** Policy evaluation is timed for one text in this many (a clock read per statement would cost more than the evaluation). */
export const POLICY_TIMING_SAMPLE = 16;

export function createMetrics(options: { processMetrics?: boolean } = {}) {
  const registry = new Registry();
  // Conventional unprefixed names (process_cpu_seconds_total, nodejs_heap_size_used_bytes), as Node.js dashboards expect.
  if (options.processMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    // Gauges named like counters (`promtool check metrics`: non-counter metrics should not have "_total" suffix);
    // their per-type twins nodejs_active_handles / _requests / _resources carry the same numbers.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  }
  const r = [registry];
  const latencyBuckets = [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.025];
  const metrics = {
    registry,
    clientConnectionsActive: new Gauge({ name: 'pgwarden_client_connections_active', help: 'Client connections currently open', registers: r }),
    clientConnectionsTotal: new Counter({ name: 'pgwarden_client_connections_total', help: 'Client connections accepted', registers: r }),
    clientConnectionsRejected: new Counter({ name: 'pgwarden_client_connections_rejected_total', help: 'Client connections refused', labelNames: ['reason'] as const, registers: r }),
    clientDisconnects: new Counter({ name: 'pgwarden_client_disconnects_total', help: 'Client connections closed, by reason', labelNames: ['reason'] as const, registers: r }),
    statements: new Counter({ name: 'pgwarden_statements_total', help: 'Statements decided, by strictest category and action', labelNames: ['category', 'action'] as const, registers: r }),
    ruleHits: new Counter({ name: 'pgwarden_rule_hits_total', help: 'Statements decided by each rule', labelNames: ['rule', 'action'] as const, registers: r }),
    shadowVerdicts: new Counter({ name: 'pgwarden_shadow_verdicts_total', help: 'Statements that shadow-mode rules would have decided differently, by the rule that would have decided and its action (recorded, not enforced)', labelNames: ['rule', 'action'] as const, registers: r }),
    parseCacheHits: new Counter({ name: 'pgwarden_parse_cache_hits_total', help: 'Parse cache hits', registers: r }),
    parseCacheMisses: new Counter({ name: 'pgwarden_parse_cache_misses_total', help: 'Parse cache misses (texts parsed)', registers: r }),
    parseSeconds: new Histogram({ name: 'pgwarden_parse_duration_seconds', help: 'Time to parse and classify an uncached text', buckets: latencyBuckets, registers: r }),
    policySeconds: new Histogram({ name: 'pgwarden_policy_duration_seconds', help: `Time to evaluate policy for a text (sampled: one text in ${POLICY_TIMING_SAMPLE})`, buckets: latencyBuckets, registers: r }),
    approvalRequests: new Counter({ name: 'pgwarden_approval_requests_total', help: 'Approval requests by outcome', labelNames: ['outcome'] as const, registers: r }),
    approvalsPending: new Gauge({ name: 'pgwarden_approvals_pending', help: 'Approval requests waiting on this instance', registers: r }),
    approvalDecisionSeconds: new Histogram({
      name: 'pgwarden_approval_decision_seconds',
      help: 'Time from request to decision',
      labelNames: ['outcome'] as const,
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers: r,
    }),
    grantsUsed: new Counter({ name: 'pgwarden_approval_grants_used_total', help: 'Statements passed under a scoped approval grant', registers: r }),
    channelDeliveryFailures: new Counter({ name: 'pgwarden_channel_delivery_failures_total', help: 'Failed notifications to approval channels', labelNames: ['channel'] as const, registers: r }),
    channelRetries: new Counter({ name: 'pgwarden_channel_retries_total', help: 'Calls to an approval channel retried, by reason', labelNames: ['channel', 'reason'] as const, registers: r }),
    channelInboundRejected: new Counter({ name: 'pgwarden_channel_inbound_rejected_total', help: 'Inbound channel requests refused before any action, by reason', labelNames: ['channel', 'reason'] as const, registers: r }),
    upstreamConnectErrors: new Counter({ name: 'pgwarden_upstream_connect_errors_total', help: 'Failed connections to the upstream server', labelNames: ['code'] as const, registers: r }),
    upstreamConnectSeconds: new Histogram({ name: 'pgwarden_upstream_connect_duration_seconds', help: 'Time to open an upstream connection', buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5], registers: r }),
    redisUp: new Gauge({ name: 'pgwarden_redis_up', help: '1 when the approval store (Redis) is reachable, 0 when not', registers: r }),
    auditRecords: new Counter({ name: 'pgwarden_audit_records_total', help: 'Audit records written', labelNames: ['sink'] as const, registers: r }),
    auditFailures: new Counter({ name: 'pgwarden_audit_failures_total', help: 'Audit records whose write failed (each record counted once; retried)', labelNames: ['sink'] as const, registers: r }),
    auditLost: new Counter({ name: 'pgwarden_audit_lost_records_total', help: 'Audit records that could not be written and are lost, by reason', labelNames: ['sink', 'reason'] as const, registers: r }),
    auditBacklogBytes: new Gauge({ name: 'pgwarden_audit_backlog_bytes', help: 'Approximate bytes of audit records waiting in memory for the audit file', registers: r }),
    auditSpooled: new Gauge({ name: 'pgwarden_audit_spool_records', help: 'Audit records waiting in the on-disk spool for the Postgres sink', registers: r }),
    rulesLoaded: new Gauge({ name: 'pgwarden_rules_loaded', help: 'Rules in force', registers: r }),
    rulesReloads: new Counter({ name: 'pgwarden_rules_reloads_total', help: 'Rule reloads by result', labelNames: ['result'] as const, registers: r }),
    teamsApiFailures: new Counter({ name: 'pgwarden_teams_api_failures_total', help: 'Failed Bot Connector calls (every attempt, retried or not), by HTTP status', labelNames: ['status'] as const, registers: r }),
    authentications: new Counter({ name: 'pgwarden_authentications_total', help: 'Client authentications by method and outcome', labelNames: ['method', 'outcome'] as const, registers: r }),
    tlsReloads: new Counter({ name: 'pgwarden_tls_reloads_total', help: 'Reloads of TLS certificates and keys, by leg and result', labelNames: ['leg', 'result'] as const, registers: r }),
  };
  const L = LABEL_VALUES;
  for (const reason of L.closeReason) metrics.clientDisconnects.inc({ reason }, 0);
  for (const reason of L.rejectReason) metrics.clientConnectionsRejected.inc({ reason }, 0);
  for (const category of L.category) for (const action of L.action) metrics.statements.inc({ category, action }, 0);
  for (const outcome of L.outcome) {
    metrics.approvalRequests.inc({ outcome }, 0);
    metrics.approvalDecisionSeconds.zero({ outcome });
  }
  for (const channel of L.channel) metrics.channelDeliveryFailures.inc({ channel }, 0);
  for (const reason of L.retryReason) metrics.channelRetries.inc({ channel: 'slack', reason }, 0);
  for (const reason of L.inboundRejectReason) metrics.channelInboundRejected.inc({ channel: 'slack', reason }, 0);
  for (const code of L.upstreamCode) metrics.upstreamConnectErrors.inc({ code }, 0);
  for (const sink of L.sink) {
    metrics.auditRecords.inc({ sink }, 0);
    metrics.auditFailures.inc({ sink }, 0);
  }
  for (const result of L.reloadResult) metrics.rulesReloads.inc({ result }, 0);
  for (const reason of L.auditLostReason) metrics.auditLost.inc({ sink: 'file', reason }, 0);
  for (const status of L.teamsStatus) metrics.teamsApiFailures.inc({ status }, 0);
  for (const method of L.authMethod) for (const outcome of L.authOutcome) metrics.authentications.inc({ method, outcome }, 0);
  for (const leg of L.tlsLeg) for (const result of L.reloadResult) metrics.tlsReloads.inc({ leg, result }, 0);
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
