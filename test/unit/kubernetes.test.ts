// deploy/kubernetes/: every object validates against the Kubernetes OpenAPI schemas (kubernetes-models, offline; the
// Prometheus Operator CRDs through @kubernetes-models/prometheus-operator), the pieces refer to each other correctly
// (selectors, port names, Secret keys, ConfigMaps, mount paths), and pgwarden's own loaders accept the config and rules.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { loadConfig, splitHostPort } from '../../src/config.js';
import { loadRules } from '../../src/policy/load.js';
import { createAnalyzer, loadSqlParser } from '../../src/sql/analyze.js';

const dir = resolve(import.meta.dirname, '../../deploy/kubernetes');
const repo = resolve(dir, '../..');

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: any };

/** The model class that validates each kind (a kind missing here fails the test: add its schema). */
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

function docs(file: string): Obj[] {
  return parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => d.toJS() as Obj).filter(Boolean);
}

const kustomization = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as {
  namespace: string;
  resources: string[];
  configMapGenerator: { name: string; files: string[] }[];
  images: { name: string; newName: string; newTag: string }[];
};

/** The ConfigMaps kustomize's configMapGenerator makes (names get a content hash that kustomize also writes into references). */
const generated: Obj[] = kustomization.configMapGenerator.map((g) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: g.name, namespace: kustomization.namespace },
  data: Object.fromEntries(g.files.map((f) => [basename(f), readFileSync(join(dir, f), 'utf8')])),
}));
const resources: Obj[] = kustomization.resources.flatMap(docs);
const secretExample = docs('secret.example.yaml')[0]!;
const all: Obj[] = [...resources, ...generated, secretExample];
const one = (kind: string): Obj => {
  const found = all.filter((o) => o.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};

function validate(obj: Obj): void {
  const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
  if (!Model) throw new Error(`no schema for ${obj.apiVersion} ${obj.kind}: add it to MODELS`);
  new Model(obj).validate();
}

const deployment = () => one('Deployment');
const container = () => deployment().spec.template.spec.containers[0];
const secretKeys = () => new Set(Object.keys(secretExample.stringData ?? {}));

describe('deploy/kubernetes', () => {
  it('lists every manifest in kustomization.yaml, except the Secret example it must never overwrite real credentials with', () => {
    const manifests = readdirSync(dir).filter((f) => f.endsWith('.yaml') && !['kustomization.yaml', 'pgwarden.yaml', 'secret.example.yaml'].includes(f));
    expect([...kustomization.resources].sort()).toEqual(manifests.sort());
    expect(kustomization.resources).not.toContain('secret.example.yaml');
    for (const g of kustomization.configMapGenerator) for (const f of g.files) expect(existsSync(join(dir, f)), f).toBe(true);
  });

  it('every object validates against its Kubernetes (or Prometheus Operator CRD) schema', () => {
    expect(all.length).toBeGreaterThanOrEqual(10);
    for (const obj of all) {
      try {
        validate(obj);
      } catch (err) {
        throw new Error(`${obj.kind} ${obj.metadata?.name}: ${(err as Error).message}`);
      }
    }
  });

  it('the schema validation catches a wrong type and a missing required field (it is not a rubber stamp)', () => {
    const broken = structuredClone(deployment());
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'seven-four-three-two';
    expect(() => validate(broken)).toThrow(/containerPort must be integer/);
    const noSelector = structuredClone(one('PodDisruptionBudget'));
    noSelector.spec.minAvailable = [1];
    expect(() => validate(noSelector)).toThrow();
    const badMonitor = structuredClone(one('ServiceMonitor'));
    delete badMonitor.spec.selector;
    expect(() => validate(badMonitor)).toThrow(/selector/);
  });

  it('puts every namespaced object in the kustomization namespace', () => {
    for (const obj of [...resources, secretExample]) if (obj.kind !== 'Namespace') expect(obj.metadata.namespace, `${obj.kind} ${obj.metadata.name}`).toBe(kustomization.namespace);
    expect(one('Namespace').metadata.name).toBe(kustomization.namespace);
  });

  it('probes readiness on /readyz and liveness on /healthz, on the container port the config listens on', () => {
    const c = container();
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    const ports = new Map<string, number>(c.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]));
    expect(ports.get(c.readinessProbe.httpGet.port)).toBe(7433);
    expect(ports.get(c.livenessProbe.httpGet.port)).toBe(7433);
    expect(ports.get('postgres')).toBe(7432);
  });

  it('exposes 7432 and 7433 through the Service, selecting the Deployment’s pods by their labels', () => {
    const svc = one('Service');
    const podLabels = deployment().spec.template.metadata.labels;
    for (const [k, v] of Object.entries(svc.spec.selector as Record<string, string>)) expect(podLabels[k], k).toBe(v);
    const names = new Set(container().ports.map((p: { name: string }) => p.name));
    expect(svc.spec.ports.map((p: { port: number }) => p.port).sort()).toEqual([7432, 7433]);
    for (const p of svc.spec.ports) expect(names.has(p.targetPort), p.targetPort).toBe(true);
    expect(svc.spec.sessionAffinity).toBe('ClientIP');
  });

  it('keeps a PodDisruptionBudget over the same pods, below the replica count', () => {
    const pdb = one('PodDisruptionBudget');
    const podLabels = deployment().spec.template.metadata.labels;
    for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels as Record<string, string>)) expect(podLabels[k]).toBe(v);
    expect(pdb.spec.minAvailable).toBeLessThan(deployment().spec.replicas);
    expect(deployment().spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
  });

  it('scrapes /metrics through a ServiceMonitor that selects the Service and names one of its ports', () => {
    const sm = one('ServiceMonitor');
    const svc = one('Service');
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels as Record<string, string>)) expect(svc.metadata.labels![k]).toBe(v);
    const svcPorts = new Set(svc.spec.ports.map((p: { name: string }) => p.name));
    for (const ep of sm.spec.endpoints) {
      expect(svcPorts.has(ep.port), ep.port).toBe(true);
      expect(ep.path).toBe('/metrics');
    }
    // PgwardenDown alerts on up{job="pgwarden"}: the Operator names the job after the Service.
    expect(svc.metadata.name).toBe('pgwarden');
  });

  it('ships the same alert rules as docker/prometheus/alerts.yml (node scripts/kubernetes-alerts.mjs regenerates them)', () => {
    const alerts = parseYaml(readFileSync(join(repo, 'docker/prometheus/alerts.yml'), 'utf8')) as { groups: unknown[] };
    expect(one('PrometheusRule').spec.groups).toEqual(alerts.groups);
  });

  it('reads tokens and upstream/Redis URLs from Secret references only, each key present in secret.example.yaml', () => {
    const env = container().env as { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
    for (const e of env) {
      if (/TOKEN|PASSWORD|SECRET|UPSTREAM|REDIS/.test(e.name)) {
        expect(e.value, `${e.name} must come from a Secret`).toBeUndefined();
        expect(e.valueFrom?.secretKeyRef?.name, e.name).toBe(secretExample.metadata.name);
      }
      if (e.valueFrom?.secretKeyRef) expect(secretKeys().has(e.valueFrom.secretKeyRef.key), e.valueFrom.secretKeyRef.key).toBe(true);
    }
    for (const key of ['PGWARDEN_API_TOKENS', 'PGWARDEN_UPSTREAM', 'PGWARDEN_REDIS', 'PGWARDEN_TEAMS_APP_PASSWORD']) expect(env.some((e) => e.valueFrom?.secretKeyRef?.key === key), key).toBe(true);
    for (const key of secretKeys()) expect(env.some((e) => e.name === key), `${key} in the Secret but not given to the container`).toBe(true);
  });

  it('mounts config and rules from the generated ConfigMaps, and runs non-root with a read-only root filesystem', () => {
    const spec = deployment().spec.template.spec;
    const cmNames = new Set(generated.map((g) => g.metadata.name));
    for (const v of spec.volumes.filter((x: { configMap?: unknown }) => x.configMap)) expect(cmNames.has(v.configMap.name), v.configMap.name).toBe(true);
    const mounts = container().volumeMounts as { name: string; mountPath: string }[];
    for (const m of mounts) expect(spec.volumes.some((v: { name: string }) => v.name === m.name), m.name).toBe(true);
    expect(spec.securityContext.runAsNonRoot).toBe(true);
    expect(spec.securityContext.runAsUser).toBe(1000);
    expect(container().securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(kustomization.images.map((i) => i.name)).toContain(container().image);
  });

  it("loads with pgwarden's own config loader given the Secret's values, listening where the container ports are", () => {
    const tmp = mkdtempSync(join(tmpdir(), 'pgw-k8s-'));
    writeFileSync(join(tmp, 'pgwarden.yaml'), readFileSync(join(dir, 'pgwarden.yaml'), 'utf8'));
    const env = Object.fromEntries(Object.entries(secretExample.stringData as Record<string, string>).filter(([, v]) => v !== ''));
    const config = loadConfig({ config: join(tmp, 'pgwarden.yaml') }, env);
    expect(splitHostPort(config.listen).port).toBe(7432);
    expect(splitHostPort(config.http).port).toBe(7433);
    expect(config.upstream).toBe(env.PGWARDEN_UPSTREAM);
    expect(config.redis).toBe(env.PGWARDEN_REDIS);
    expect(config.approvals.public_url).toBe(env.PGWARDEN_PUBLIC_URL);
    const argv = container().args as string[];
    const configMount = (container().volumeMounts as { mountPath: string }[]).find((m) => m.mountPath === argv[argv.indexOf('--config') + 1]);
    expect(configMount, 'the --config path is a mount').toBeDefined();
    // The rules path is a file inside the rules mount (ConfigMap folders hold symlinks, which a folder scan skips).
    const rulesMount = (container().volumeMounts as { name: string; mountPath: string }[]).find((m) => config.rules.startsWith(`${m.mountPath}/`))!;
    expect(rulesMount.name).toBe('rules');
    expect(Object.keys(generated.find((g) => g.metadata.name === 'pgwarden-rules')!.data)).toContain(basename(config.rules));
    expect(config.audit.file!.startsWith('/var/lib/pgwarden/')).toBe(true);
  });

  it("lets the Secret example's approver approve every kind of review in the shipped rules", async () => {
    const ruleSet = loadRules(join(dir, 'rules/default.yaml'));
    const identity = (secretExample.stringData.PGWARDEN_API_TOKENS as string).split('=')[0]!;
    await loadSqlParser();
    const analyzer = createAnalyzer({ maxRows: 10_000, cacheEntries: 0 });
    for (const sql of ['CREATE TABLE t (id int)', 'GRANT SELECT ON t TO reporting', 'COPY customers TO STDOUT']) {
      const verdict = ruleSet.evaluate(analyzer.analyze(sql), { user: 'agent', application: 'psql', address: '10.0.0.1' }, { database: 'app', inTransactionBlock: false, now: new Date() });
      expect(verdict.action, sql).toBe('review');
      expect(verdict.review!.approvers, sql).toContain(identity);
    }
  });
});
