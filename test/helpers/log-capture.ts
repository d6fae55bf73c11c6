// Captures log lines for assertions, and records every captured line where the suite-wide secret check (log-secrets-setup.ts) can grep it.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DestinationStream, Logger } from 'pino';
import { createLogger } from '../../src/log.js';

/** Env var the global setup sets to a directory; captured lines are appended to a file in it. */
export const LOG_CAPTURE_DIR_ENV = 'PGWARDEN_LOG_CAPTURE_DIR';

/**
 * Adds log lines (from an in-process logger or a spawned pgwarden's stdout/stderr) to the suite-wide
 * record the teardown greps for secrets. A no-op when the global setup is not wired.
 */
export function recordLogLines(text: string | readonly string[]): void {
  const dir = process.env[LOG_CAPTURE_DIR_ENV];
  if (!dir) return;
  const body = typeof text === 'string' ? text : text.join('\n');
  if (!body) return;
  appendFileSync(join(dir, `${process.pid}.log`), body.endsWith('\n') ? body : `${body}\n`);
}

export interface LogCapture {
  /** A logger built exactly as production builds it (same redaction), writing into this capture. */
  readonly logger: Logger;
  /** The pino destination, for code that builds its own logger. */
  readonly stream: DestinationStream;
  /** Raw JSON lines, in order. */
  readonly lines: string[];
  /** The lines parsed. */
  records(): Record<string, unknown>[];
  /** Everything as one string, for `not.toContain(secret)`. */
  text(): string;
}

export function captureLogs(options: { level?: string } = {}): LogCapture {
  const lines: string[] = [];
  const stream: DestinationStream = {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line) lines.push(line);
      recordLogLines(chunk);
    },
  };
  const logger = createLogger({ level: options.level ?? 'trace', pretty: false, destination: stream });
  return {
    logger,
    stream,
    lines,
    records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    text: () => lines.join('\n'),
  };
}
