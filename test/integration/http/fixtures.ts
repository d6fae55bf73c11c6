// Shared by the HTTP, console and CLI tests: realistic pending approval requests and a pgwarden HTTP server on port 0 over a real store.
import { createApprovalService, type ApprovalService } from '../../../src/approvals/service.js';
import { createMemoryStore } from '../../../src/approvals/memory-store.js';
import { newRequestId } from '../../../src/approvals/ids.js';
import type { ApprovalRequest } from '../../../src/approvals/request.js';
import type { PendingStore } from '../../../src/approvals/store.js';
import { nullAuditLog } from '../../../src/audit/record.js';
import { silentLogger } from '../../../src/log.js';
import { createMetrics } from '../../../src/metrics.js';
import { createHttpServer, type HttpServer, type ReadinessProbes } from '../../../src/http/server.js';
import { Secret } from '../../../src/units.js';

export const TOKENS = {
  'alice@example.com': 'tok-alice-4f1b9c2e7d',
  'bob@example.com': 'tok-bob-8a3e5d1c0f',
  'agent_reporting': 'tok-agent-6c2d9e4b1a',
  'mallory@example.com': 'tok-mallory-1e7f3a9c5b',
} as const;

/** A request as the proxy would open it for an agent's COPY … TO STDOUT held by rule `exports`. */
export function pendingRequest(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  const now = Date.now();
  return {
    id: newRequestId(),
    status: 'pending',
    sql: "/* reason: quarterly churn analysis for finance */\nCOPY (\n  SELECT id, email, plan, created_at\n    FROM customers\n   WHERE created_at >= '2025-01-01'\n) TO STDOUT WITH (FORMAT csv, HEADER)",
    normalized: 'COPY (SELECT id, email, plan, created_at FROM customers WHERE created_at >= $1) TO STDOUT WITH (FORMAT csv, HEADER)',
    fingerprint: 'a1b2c3d4e5f60718',
    categories: ['read', 'export'],
    tables: ['customers'],
    rule: 'exports',
    ruleReason: 'category export matched rule exports: exports of customer data need a data owner',
    actor: { user: 'agent_reporting', application: 'claude-code', address: '10.20.4.17' },
    database: 'app_production',
    statedReason: 'quarterly churn analysis for finance',
    approvers: ['alice@example.com', 'bob@example.com'],
    groups: ['data-owners'],
    quorum: 1,
    scopes: ['once', 'fingerprint'],
    grantTtlMs: 15 * 60_000,
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + 5 * 60_000).toISOString(),
    decidedAt: null,
    decisions: [],
    instance: 'test-instance',
    ...overrides,
  };
}

export interface TestServer {
  readonly url: string;
  readonly store: PendingStore;
  readonly service: ApprovalService;
  readonly http: HttpServer;
  close(): Promise<void>;
}

/** pgwarden's HTTP server on 127.0.0.1:0 over the real approval service and the given (or a fresh memory) store. */
export async function startServer(options: { store?: PendingStore; readiness?: ReadinessProbes; bodyLimit?: number } = {}): Promise<TestServer> {
  const store = options.store ?? createMemoryStore();
  const metrics = createMetrics({ processMetrics: false });
  const service = createApprovalService({
    store,
    channels: [],
    audit: nullAuditLog,
    metrics,
    logger: silentLogger,
    instance: 'test-instance',
    publicUrl: 'http://127.0.0.1',
    progressIntervalMs: 30_000,
  });
  const http = createHttpServer({
    metrics,
    approvals: service,
    tokens: Object.fromEntries(Object.entries(TOKENS).map(([k, v]) => [k, new Secret(v)])),
    readiness: options.readiness ?? { rules: () => true },
    logger: silentLogger,
    ...(options.bodyLimit !== undefined ? { bodyLimit: options.bodyLimit } : {}),
  });
  const { port } = await http.listen('127.0.0.1:0');
  return {
    url: `http://127.0.0.1:${port}`,
    store,
    service,
    http,
    async close() {
      await http.close();
      await service.close();
      if (!options.store) await store.close();
    },
  };
}
