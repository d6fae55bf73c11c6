// docker/prometheus checked by Prometheus's own tool: the config and rules load, and every alert has promtool unit
// tests (docker/prometheus/alerts.test.yml) that show it firing and staying quiet. promtool comes from Debian's
// `prometheus` package, which .ci/run installs; without it these tests fail and say so.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

const promDir = resolve(import.meta.dirname, '../../docker/prometheus');

export function promtool(args: string[], input?: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { encoding: 'utf8', input, timeout: 60_000 });
  if (result.error) throw new Error(`promtool could not run (${result.error.message}): install Debian's prometheus package (apt-get install prometheus), as .ci/run does`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

interface RuleTest {
  name?: string;
  alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[];
}

describe('docker/prometheus with promtool', () => {
  it('prometheus.yml passes `promtool check config` (rule_files relative to the config, found in a clone)', () => {
    const { status, output } = promtool(['check', 'config', join(promDir, 'prometheus.yml')]);
    expect(output).toContain('SUCCESS');
    expect(status, output).toBe(0);
    expect((parseYaml(readFileSync(join(promDir, 'prometheus.yml'), 'utf8')) as { rule_files: string[] }).rule_files.every((f) => !f.startsWith('/'))).toBe(true);
  });

  it('alerts.yml passes `promtool check rules`', () => {
    const { status, output } = promtool(['check', 'rules', join(promDir, 'alerts.yml')]);
    expect(status, output).toBe(0);
  });

  it('alerts.test.yml passes `promtool test rules`', () => {
    const { status, output } = promtool(['test', 'rules', join(promDir, 'alerts.test.yml')]);
    expect(output).toContain('SUCCESS');
    expect(status, output).toBe(0);
  });

  it('tests every alert both firing and staying quiet', () => {
    const alerts = (parseYaml(readFileSync(join(promDir, 'alerts.yml'), 'utf8')) as { groups: { rules: { alert: string }[] }[] }).groups.flatMap((g) => g.rules.map((r) => r.alert));
    const tests = (parseYaml(readFileSync(join(promDir, 'alerts.test.yml'), 'utf8')) as { tests: RuleTest[] }).tests;
    const checks = tests.flatMap((t) => t.alert_rule_test ?? []);
    const fires = new Set(checks.filter((c) => (c.exp_alerts ?? []).length > 0).map((c) => c.alertname));
    const quiet = new Set(checks.filter((c) => (c.exp_alerts ?? []).length === 0).map((c) => c.alertname));
    expect(alerts.length).toBeGreaterThanOrEqual(11);
    expect(alerts.filter((a) => !fires.has(a))).toEqual([]);
    expect(alerts.filter((a) => !quiet.has(a))).toEqual([]);
    // Each alert also has a test case of its own whose name says it stays quiet.
    for (const a of alerts) expect(tests.some((t) => t.name?.startsWith(`${a} stays quiet`)), a).toBe(true);
  });

  it('every alert that counts events with increase() waits for less than its window (a burst can still fire)', () => {
    const rules = (parseYaml(readFileSync(join(promDir, 'alerts.yml'), 'utf8')) as { groups: { rules: { alert: string; expr: string; for?: string }[] }[] }).groups.flatMap((g) => g.rules);
    const seconds = (d: string) => Number.parseInt(d, 10) * ({ s: 1, m: 60, h: 3600 } as Record<string, number>)[d.slice(-1)]!;
    for (const r of rules) {
      const window = /increase\([^[]+\[(\d+[smh])\]\)/.exec(r.expr)?.[1];
      if (!window || !r.for) continue;
      expect(seconds(r.for), r.alert).toBeLessThan(seconds(window));
    }
  });
});
