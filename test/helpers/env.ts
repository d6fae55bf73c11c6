// Service URLs for integration tests: the real PostgreSQL and Redis started by scripts/test-services.sh (or .ci/run).
export function pgUrl(): string {
  const url = process.env.TEST_PG_URL;
  if (!url) throw new Error('TEST_PG_URL is not set: run `eval "$(scripts/test-services.sh | sed s/^/export\\ /)"` first (npm test does this via .ci/run)');
  return url;
}

export function redisUrl(): string {
  const url = process.env.TEST_REDIS_URL;
  if (!url) throw new Error('TEST_REDIS_URL is not set: run scripts/test-services.sh first');
  return url;
}

export function pgTarget(): { host: string; port: number; display: string } {
  const u = new URL(pgUrl());
  const port = Number(u.port || 5432);
  return { host: u.hostname, port, display: `${u.hostname}:${port}` };
}

/** A connection URL to `port` on localhost with the given user/password/database. */
export function urlFor(port: number, opts: { user?: string; password?: string; database?: string; application?: string } = {}): string {
  const user = encodeURIComponent(opts.user ?? 'postgres');
  const pw = opts.password ? `:${encodeURIComponent(opts.password)}` : '';
  const app = opts.application ? `?application_name=${encodeURIComponent(opts.application)}` : '';
  return `postgres://${user}${pw}@127.0.0.1:${port}/${opts.database ?? 'postgres'}${app}`;
}
