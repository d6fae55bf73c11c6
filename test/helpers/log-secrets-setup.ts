// Vitest globalSetup: collects every log line tests capture (log-capture.ts) and fails the run if any test secret appears in one.
// Wire it in vitest.config.ts: `test: { globalSetup: ['test/helpers/log-secrets-setup.ts'] }`.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOG_CAPTURE_DIR_ENV } from './log-capture.js';
import { findSecret } from './secrets.js';

let dir: string | null = null;

export function setup(): void {
  dir = mkdtempSync(join(tmpdir(), 'pgwarden-logs-'));
  // Workers start after global setup and inherit this environment.
  process.env[LOG_CAPTURE_DIR_ENV] = dir;
}

/** Throws (failing the run) naming the file and line of the first secret found in any captured log line. */
export function teardown(): void {
  if (!dir) return;
  try {
    for (const name of readdirSync(dir)) {
      const lines = readFileSync(join(dir, name), 'utf8').split('\n');
      lines.forEach((line, i) => {
        const secret = findSecret(line);
        if (secret) throw new Error(`a test secret appeared in a log line (capture ${name}:${i + 1}); the redaction in src/log.ts missed it: ${line.replace(secret, '<SECRET>')}`);
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    dir = null;
  }
}
