// Integration tests need the real PostgreSQL and Redis: start them (scripts/test-services.sh) unless TEST_PG_URL and
// TEST_REDIS_URL already point somewhere. Workers inherit the env set here.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  if (process.env.TEST_PG_URL && process.env.TEST_REDIS_URL) return;
  const script = fileURLToPath(new URL('../scripts/test-services.sh', import.meta.url));
  const out = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  for (const line of out.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) process.env[line.slice(0, eq)] ??= line.slice(eq + 1);
  }
}
