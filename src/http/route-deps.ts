// What every HTTP route module receives: the server's dependencies plus the shared auth, router and body limit.
// Its own module so that server.ts and routes/* both import it and neither imports the other.
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import type { ApproverAuth, TokenSource } from './auth.js';
import type { Router } from './router.js';
import type { ApprovalsApi } from './routes/approvals.js';
import type { ReadinessProbes } from './routes/health.js';
import type { SuggestionsApi } from './routes/suggestions.js';

export interface HttpServerDeps {
  readonly metrics: Metrics;
  /** The approval service (decide + store). Without it the /api/approvals routes answer 503. */
  readonly approvals?: ApprovalsApi;
  /** Approver identity → bearer token (config `approvals.api_tokens`). */
  readonly tokens: TokenSource;
  /** Named readiness probes for /readyz (e.g. upstream, redis, rules). A probe that throws or takes over 2 s counts as failed. */
  readonly readiness: ReadinessProbes;
  readonly logger: Logger;
  /** Base URL approvers open; also accepted as an Origin, and makes the session cookie Secure when https. */
  readonly publicUrl?: string;
  /** Largest request body the built-in routes accept (default 64 KiB). */
  readonly bodyLimit?: number;
  /** Console session lifetime (default 12 h). */
  readonly sessionTtlMs?: number;
  /** Rule suggestions from this instance's audit log (GET /api/suggestions); absent without an audit file (503). */
  readonly suggestions?: SuggestionsApi;
}

/** Shared by every route module. */
export interface RouteDeps extends HttpServerDeps {
  readonly auth: ApproverAuth;
  readonly bodyLimit: number;
  readonly router: Router;
}
