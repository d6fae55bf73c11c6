// GET /healthz (the process is alive) and GET /readyz (every injected readiness probe passes, else 503 naming the failures).
import type { RouteDeps } from '../route-deps.js';
import { sendJson } from '../http-error.js';

/** Probe name (snake_case: upstream, redis, rules) → check. */
export type ReadinessProbes = Readonly<Record<string, () => boolean | Promise<boolean>>>;

/** A probe that hangs must not hang the orchestrator's check. */
const PROBE_TIMEOUT_MS = 2000;

async function runProbe(probe: () => boolean | Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS);
    });
    return (await Promise.race([Promise.resolve().then(probe), timeout])) === true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export function registerHealthRoutes(deps: RouteDeps): void {
  deps.router.add('GET', '/healthz', (_req, res) => {
    sendJson(res, 200, { status: 'ok' });
  });
  deps.router.add('GET', '/readyz', async (_req, res) => {
    const names = Object.keys(deps.readiness);
    const results = await Promise.all(names.map((name) => runProbe(deps.readiness[name]!)));
    const checks = Object.fromEntries(names.map((name, i) => [name, results[i] ? 'ok' : 'failed']));
    const failed = names.filter((_, i) => !results[i]);
    if (failed.length === 0) sendJson(res, 200, { status: 'ready', checks });
    else sendJson(res, 503, { status: 'not_ready', failed, checks });
  });
}
