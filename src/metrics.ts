// Every pgwarden_* metric, declared once on one prom-client Registry. Label values come only from closed
// sets (category, action, rule id, outcome, reason): never SQL text, user names or addresses.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics(options: { processMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'pgwarden_process_' });
  const r = [registry];
  const latencyBuckets = [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.025];
  return {
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
    policySeconds: new Histogram({ name: 'pgwarden_policy_duration_seconds', help: 'Time to evaluate policy for a text', buckets: latencyBuckets, registers: r }),
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
    auditFailures: new Counter({ name: 'pgwarden_audit_failures_total', help: 'Audit records that failed to write (retried from the spool)', labelNames: ['sink'] as const, registers: r }),
    auditSpooled: new Gauge({ name: 'pgwarden_audit_spool_records', help: 'Audit records waiting in the on-disk spool for the Postgres sink', registers: r }),
    rulesLoaded: new Gauge({ name: 'pgwarden_rules_loaded', help: 'Rules in force', registers: r }),
    rulesReloads: new Counter({ name: 'pgwarden_rules_reloads_total', help: 'Rule reloads by result', labelNames: ['result'] as const, registers: r }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
