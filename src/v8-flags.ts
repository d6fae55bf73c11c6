// V8 flags pgwarden sets on itself at start (imported first by cli.ts), before the SQL parser's WebAssembly is compiled.
import { setFlagsFromString } from 'node:v8';

/**
 * Keep the SQL parser's WebAssembly in V8's baseline compiler (Liftoff); never tier it up to TurboFan.
 *
 * Why: libpg-query's parser is one 100 KB WebAssembly function (bison's yyparse). The first statement with a FROM
 * clause makes it hot, and V8's dynamic tiering then compiles it with TurboFan on a background thread, which
 * takes ~0.7 s and ~610 MB of compiler zone memory (measured with --trace-wasm-compilation-times on Node 24.21):
 * a fresh pgwarden peaked at ~685 MB resident on its first real query, enough to get it killed in a 512 MB
 * container. Liftoff code parses pgbench statements as fast or faster in steady state (bench/RESULTS.md).
 *
 * How: `--liftoff-only` says this exactly but takes effect only on the command line (V8 resolves it at start), and
 * pgwarden must behave the same under `npx pgwarden`, `node dist/cli.js` and the container's CMD. A tier-up filter
 * other than -1 is read when Liftoff compiles each function: with a filter that matches no function index, Liftoff
 * emits no tier-up checks at all, so nothing is ever handed to TurboFan. It must be set before the module is
 * compiled (loadSqlParser); test/faults/first-query-memory.test.ts checks the resulting peak on a real process.
 */
export const PGWARDEN_V8_FLAGS = ['--wasm-tier-up-filter=-2'] as const;

export function applyV8Flags(): void {
  for (const flag of PGWARDEN_V8_FLAGS) setFlagsFromString(flag);
}

applyV8Flags();
