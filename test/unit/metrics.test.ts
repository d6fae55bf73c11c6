// metrics registry ↔ docs/metrics.md: every metric is documented with its type and labels, and nothing documented is missing from the code.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createMetrics } from '../../src/metrics.js';

const doc = readFileSync(resolve(import.meta.dirname, '../../docs/metrics.md'), 'utf8');

interface DocRow {
  type: string;
  labels: string[];
}

function docRows(): Map<string, DocRow> {
  const rows = new Map<string, DocRow>();
  for (const line of doc.split('\n')) {
    const m = /^\| `(pgwarden_[a-z0-9_*]+)` \| ([a-z]+) \|([^|]*)\|/.exec(line);
    if (!m) continue;
    rows.set(m[1]!, { type: m[2]!, labels: [...m[3]!.matchAll(/`([a-z_]+)`/g)].map((x) => x[1]!).sort() });
  }
  return rows;
}

describe('metrics registry and docs/metrics.md', () => {
  it('lists every pgwarden metric with its type and labels, and nothing else', async () => {
    const metrics = createMetrics();
    const json = await metrics.registry.getMetricsAsJSON();
    const own = json.filter((m) => !m.name.startsWith('pgwarden_process_'));
    const rows = docRows();
    const documented = [...rows.keys()].filter((n) => n !== 'pgwarden_process_*').sort();
    expect(documented).toEqual(own.map((m) => m.name).sort());
    for (const m of own) {
      const row = rows.get(m.name)!;
      expect(row.type, m.name).toBe(String(m.type));
      const labelNames = [...(((metrics.registry.getSingleMetric(m.name) as unknown as { labelNames?: string[] }).labelNames) ?? [])].sort();
      expect(row.labels, m.name).toEqual(labelNames);
    }
  });

  it('puts every process metric under the documented pgwarden_process_ prefix', async () => {
    const json = await createMetrics().registry.getMetricsAsJSON();
    expect(docRows().has('pgwarden_process_*')).toBe(true);
    for (const m of json) expect(m.name).toMatch(/^pgwarden_/);
    expect(json.some((m) => m.name.startsWith('pgwarden_process_'))).toBe(true);
  });

  it('names follow pgwarden_<subsystem>_<what>_<unit>: counters end in _total, durations in _seconds', async () => {
    const json = await createMetrics({ processMetrics: false }).registry.getMetricsAsJSON();
    for (const m of json) {
      if (String(m.type) === 'counter') expect(m.name, m.name).toMatch(/_total$/);
      if (String(m.type) === 'histogram') expect(m.name, m.name).toMatch(/_seconds$/);
    }
  });

  it('creates independent registries (tests and several instances in one process do not collide)', async () => {
    const a = createMetrics({ processMetrics: false });
    const b = createMetrics({ processMetrics: false });
    a.statements.inc({ category: 'read', action: 'allow' });
    expect(await b.registry.getSingleMetricAsString('pgwarden_statements_total')).not.toContain('category="read"');
    expect(await a.registry.getSingleMetricAsString('pgwarden_statements_total')).toContain('pgwarden_statements_total{category="read",action="allow"} 1');
  });
});
