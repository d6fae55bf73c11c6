// metrics registry ↔ docs/metrics.md: every metric is documented with its type and labels, and nothing documented is missing from the code.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createMetrics, LABEL_VALUES, POLICY_TIMING_SAMPLE } from '../../src/metrics.js';
import { CloseReason } from '../../src/proxy/session-state.js';
import { CATEGORIES } from '../../src/sql/types.js';

const doc = readFileSync(resolve(import.meta.dirname, '../../docs/metrics.md'), 'utf8');

interface DocRow {
  type: string;
  labels: string[];
}

function docRows(): Map<string, DocRow> {
  const rows = new Map<string, DocRow>();
  for (const line of doc.split('\n')) {
    const m = /^\| `((?:pgwarden|process|nodejs)_[a-z0-9_*]+)` \| ([a-z]+) \|([^|]*)\|/.exec(line);
    if (!m) continue;
    rows.set(m[1]!, { type: m[2]!, labels: [...m[3]!.matchAll(/`([a-z_]+)`/g)].map((x) => x[1]!).sort() });
  }
  return rows;
}

describe('metrics registry and docs/metrics.md', () => {
  it('lists every pgwarden metric with its type and labels, and nothing else', async () => {
    const metrics = createMetrics();
    const json = await metrics.registry.getMetricsAsJSON();
    const own = json.filter((m) => m.name.startsWith('pgwarden_'));
    const rows = docRows();
    const documented = [...rows.keys()].filter((n) => n.startsWith('pgwarden_')).sort();
    expect(documented).toEqual(own.map((m) => m.name).sort());
    for (const m of own) {
      const row = rows.get(m.name)!;
      expect(row.type, m.name).toBe(String(m.type));
      const labelNames = [...(((metrics.registry.getSingleMetric(m.name) as unknown as { labelNames?: string[] }).labelNames) ?? [])].sort();
      expect(row.labels, m.name).toEqual(labelNames);
    }
  });

  it('exports the Node.js process metrics under their conventional unprefixed names, as documented', async () => {
    const json = await createMetrics().registry.getMetricsAsJSON();
    const names = json.map((m) => m.name);
    expect(docRows().has('process_*')).toBe(true);
    expect(docRows().has('nodejs_*')).toBe(true);
    for (const wanted of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds']) expect(names).toContain(wanted);
    expect(names.filter((n) => !/^(pgwarden|process|nodejs)_/.test(n))).toEqual([]);
    expect(names.filter((n) => n.startsWith('pgwarden_process_'))).toEqual([]);
    // Gauges named like counters fail `promtool check metrics`; their per-type twins stay.
    expect(names.filter((n) => /^nodejs_active_\w+_total$/.test(n))).toEqual([]);
  });

  it('keeps its closed label sets equal to the source sets they repeat', () => {
    expect([...LABEL_VALUES.closeReason].sort()).toEqual(Object.values(CloseReason).sort());
    expect([...LABEL_VALUES.category]).toEqual([...CATEGORIES]);
    expect([...LABEL_VALUES.action].sort()).toEqual(['allow', 'deny', 'review']);
    expect([...LABEL_VALUES.outcome].sort()).toEqual(['approved', 'denied', 'expired', 'withdrawn']);
    expect(LABEL_VALUES.rejectReason.every((r) => (Object.values(CloseReason) as string[]).includes(r))).toBe(true);
  });

  it('creates every labelled counter at zero for its closed label set (increase() then sees the first event)', async () => {
    const m = createMetrics({ processMetrics: false });
    const text = await m.registry.metrics();
    for (const result of LABEL_VALUES.reloadResult) expect(text).toContain(`pgwarden_rules_reloads_total{result="${result}"} 0`);
    for (const outcome of LABEL_VALUES.outcome) expect(text).toContain(`pgwarden_approval_requests_total{outcome="${outcome}"} 0`);
    for (const category of LABEL_VALUES.category) for (const action of LABEL_VALUES.action) expect(text).toContain(`pgwarden_statements_total{category="${category}",action="${action}"} 0`);
    for (const status of LABEL_VALUES.teamsStatus) expect(text).toContain(`pgwarden_teams_api_failures_total{status="${status}"} 0`);
    const json = await m.registry.getMetricsAsJSON();
    // Every labelled counter has at least one series before anything happened, except those labelled by rule id (rule ids come from the rules file).
    const empty = json.filter((x) => String(x.type) === 'counter' && x.values.length === 0).map((x) => x.name);
    expect(empty.sort()).toEqual(['pgwarden_rule_hits_total', 'pgwarden_shadow_verdicts_total']);
  });

  it('documents that the policy-duration histogram is sampled, with the rate the code uses', () => {
    expect(doc).toMatch(new RegExp(`pgwarden_policy_duration_seconds\`[^\n]*sampled[^\n]*1 in ${POLICY_TIMING_SAMPLE}`));
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
    expect(await b.registry.getSingleMetricAsString('pgwarden_statements_total')).toContain('pgwarden_statements_total{category="read",action="allow"} 0');
    expect(await a.registry.getSingleMetricAsString('pgwarden_statements_total')).toContain('pgwarden_statements_total{category="read",action="allow"} 1');
  });
});
