// Writes deploy/kubernetes/prometheusrule.yaml from docker/prometheus/alerts.yml (one source of alert rules).
// Run from anywhere: node scripts/kubernetes-alerts.mjs   (test/unit/kubernetes.test.ts fails while they differ)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const alerts = parse(readFileSync(join(repo, 'docker/prometheus/alerts.yml'), 'utf8'));
const rule = {
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'PrometheusRule',
  metadata: { name: 'pgwarden', namespace: 'pgwarden', labels: { 'app.kubernetes.io/name': 'pgwarden' } },
  spec: { groups: alerts.groups },
};
const head = `# Prometheus Operator: the alert rules of docker/prometheus/alerts.yml, same groups (docker/prometheus/alerts.test.yml
# tests each alert with promtool). Generated: edit alerts.yml, then run node scripts/kubernetes-alerts.mjs
# (test/unit/kubernetes.test.ts fails while the two differ).
`;
writeFileSync(join(repo, 'deploy/kubernetes/prometheusrule.yaml'), head + stringify(rule, { lineWidth: 0 }));
console.log('wrote deploy/kubernetes/prometheusrule.yaml');
