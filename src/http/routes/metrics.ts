// GET /metrics: the prom-client registry in Prometheus text format (unauthenticated, like any scrape target; bind --http accordingly).
import type { RouteDeps } from '../route-deps.js';

export function registerMetricsRoute(deps: RouteDeps): void {
  deps.router.add('GET', '/metrics', async (_req, res) => {
    const body = await deps.metrics.registry.metrics();
    res.writeHead(200, { 'Content-Type': deps.metrics.registry.contentType, 'Cache-Control': 'no-store' });
    res.end(body);
  });
}
