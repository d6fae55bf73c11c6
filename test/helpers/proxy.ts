// Starts a pgwarden proxy in-process on port 0 in front of the test PostgreSQL, with any gate.
import { createProxy, type Proxy } from '../../src/proxy/listener.js';
import { allowAllGate, type Gate } from '../../src/proxy/gate.js';
import { silentLogger } from '../../src/log.js';
import type { Metrics } from '../../src/metrics.js';
import type { TextFacts } from '../../src/sql/types.js';
import { loadSqlParser } from '../../src/sql/parse.js';
import { pgTarget } from './env.js';

export interface TestProxy {
  readonly port: number;
  readonly proxy: Proxy;
  setGate(gate: Gate): void;
  close(): Promise<void>;
}

export async function startProxy(
  opts: {
    gate?: Gate;
    maxClientConnections?: number;
    maxPreauthConnections?: number;
    startupTimeoutMs?: number;
    maxMessageSize?: number;
    maxStatementSize?: number;
    upstream?: { host: string; port: number; display: string };
    metrics?: Metrics;
    functionCallFacts?: (oid: number) => TextFacts;
  } = {},
): Promise<TestProxy> {
  // Gates without facts leave the proxy to read PREPARE/DEALLOCATE effects from the text itself, with the parser.
  await loadSqlParser();
  let gate = opts.gate ?? allowAllGate;
  const proxy = createProxy({
    options: {
      upstream: opts.upstream ?? pgTarget(),
      startupTimeoutMs: opts.startupTimeoutMs ?? 10_000,
      connectTimeoutMs: 5_000,
      maxMessageSize: opts.maxMessageSize ?? 256 * 1024 * 1024,
      maxStatementSize: opts.maxStatementSize ?? 1024 * 1024,
      maxStartupMessageSize: 10_000,
      maxClientConnections: opts.maxClientConnections ?? 2000,
      maxPreauthConnections: opts.maxPreauthConnections ?? 200,
    },
    gate: () => gate,
    logger: silentLogger,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.functionCallFacts ? { functionCallFacts: opts.functionCallFacts } : {}),
  });
  const { port } = await proxy.listen('127.0.0.1', 0);
  return {
    port,
    proxy,
    setGate: (g) => {
      gate = g;
    },
    close: () => proxy.close(),
  };
}
