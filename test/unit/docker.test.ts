// docker/: no Docker engine runs here, so this validates what can be validated — every file parses, paths line up,
// the image is small/non-root/health-checked, and every metric the dashboard and alerts query exists in createMetrics().
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { createMetrics } from '../../src/metrics.js';
import { loadConfig, splitHostPort } from '../../src/config.js';
import { loadRules } from '../../src/policy/load.js';
import { createAnalyzer, loadSqlParser } from '../../src/sql/analyze.js';

const dockerDir = resolve(import.meta.dirname, '../../docker');
const read = (p: string) => readFileSync(join(dockerDir, p), 'utf8');
const yaml = <T>(p: string) => parseYaml(read(p)) as T;

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  volumes?: string[];
  ports?: string[];
  command?: string[];
  environment?: Record<string, string>;
}
const compose = yaml<{ services: Record<string, Service>; volumes: Record<string, unknown> }>('compose.yaml');

/** docker/.env.example as KEY → value. */
const envExample: Record<string, string> = Object.fromEntries(
  read('.env.example')
    .split('\n')
    .map((l) => /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, m[2]!]),
);
const approverIdentity = envExample.PGWARDEN_API_TOKENS!.split(',')[0]!.split('=')[0]!;

/** The environment compose gives the pgwarden service when docker/.env is a copy of .env.example (empty values dropped, as pgwarden ignores them). */
function pgwardenEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(compose.services.pgwarden!.environment ?? {})) {
    const value = v.replace(/\$\{([A-Z_][A-Z0-9_]*)(?::([-?])([^}]*))?\}/g, (_m, name: string, kind: string | undefined, rest: string) => {
      if (envExample[name]) return envExample[name];
      if (kind === '?') throw new Error(`compose refuses to start: ${name} is empty in .env.example`);
      return kind === '-' ? rest : '';
    });
    if (value !== '') out[k] = value;
  }
  return out;
}

/** The host file behind a container path, through the service's bind mounts (relative to docker/). */
function hostPath(service: string, containerPath: string): string {
  for (const v of compose.services[service]!.volumes ?? []) {
    const [src, dst] = v.split(':') as [string, string];
    if (!src.startsWith('.')) continue;
    if (containerPath === dst) return join(dockerDir, src);
    if (containerPath.startsWith(`${dst}/`)) return join(dockerDir, src, containerPath.slice(dst.length + 1));
  }
  throw new Error(`${containerPath} is not bind-mounted into ${service}`);
}

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string };
}
const alerts = yaml<{ groups: { name: string; rules: AlertRule[] }[] }>('prometheus/alerts.yml');

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string; datasource: { uid: string } }[];
  datasource?: { uid: string };
}
const dashboard = JSON.parse(read('grafana/dashboards/pgwarden.json')) as { uid: string; panels: Panel[]; templating: { list: { name: string; type: string }[] } };

const dashboardExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `dashboard panel "${p.title}"`, expr: t.expr })));
const alertExprs = alerts.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })));

describe('docker/Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const stages = dockerfile.split(/^FROM /m).slice(1);

  it('is multi-stage on node:24-slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s).toMatch(/^node:24-slim\b/);
  });

  it('runs the final stage as a non-root user', () => {
    const final = stages[stages.length - 1]!;
    const user = /^USER\s+(\S+)/m.exec(final)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0', '0:0']).not.toContain(user);
    expect(final.indexOf('USER')).toBeLessThan(final.indexOf('ENTRYPOINT'));
  });

  it('health-checks /healthz on the HTTP port with node (slim has no curl or wget)', () => {
    const hc = /^HEALTHCHECK[\s\S]*?CMD (\[.*\])$/m.exec(dockerfile);
    expect(hc).not.toBeNull();
    const cmd = JSON.parse(hc![1]!) as string[];
    expect(cmd[0]).toBe('node');
    expect(cmd.join(' ')).toContain('/healthz');
    expect(cmd.join(' ')).toContain('7433');
    const instructions = dockerfile.split('\n').filter((l) => !l.trimStart().startsWith('#')).join('\n');
    expect(instructions).not.toMatch(/\b(curl|wget)\b/);
  });

  it('builds with `npm run build`, the one build path a clone uses (bare tsc once left decide.lua out of dist/)', () => {
    const build = stages[0]!;
    expect(build).toMatch(/^RUN npm run build\b/m);
    expect(dockerfile.split('\n').filter((l) => !l.trimStart().startsWith('#')).join('\n')).not.toMatch(/\btsc\b/);
    expect(JSON.parse(read('../package.json')).scripts.build).toContain('decide.lua');
  });

  it('copies only files that exist and keeps dev tooling out of the final stage', () => {
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of m[1]!.split(/\s+/)) expect(existsSync(resolve(dockerDir, '..', src)), src).toBe(true);
    }
    const final = stages[stages.length - 1]!;
    expect(final).not.toMatch(/npm (ci|install)/);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
  });
});

describe('docker/compose.yaml', () => {
  it('runs postgres, redis, pgwarden, prometheus and grafana', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['grafana', 'pgwarden', 'postgres', 'prometheus', 'redis']);
  });

  it('builds pgwarden from docker/Dockerfile with the repository as context', () => {
    const build = compose.services.pgwarden!.build!;
    expect(resolve(dockerDir, build.context, build.dockerfile)).toBe(join(dockerDir, 'Dockerfile'));
  });

  it('bind-mounts only files that exist and declares every named volume', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const v of svc.volumes ?? []) {
        const src = v.split(':')[0]!;
        if (src.startsWith('.')) expect(existsSync(join(dockerDir, src)), `${name}: ${src}`).toBe(true);
        else expect(compose.volumes, `${name}: volume ${src}`).toHaveProperty(src);
      }
    }
  });

  it('publishes ports on the host loopback only and takes every secret from a variable, never a literal', () => {
    for (const svc of Object.values(compose.services)) for (const p of svc.ports ?? []) expect(p).toMatch(/^127\.0\.0\.1:/);
    for (const svc of Object.values(compose.services)) {
      for (const [k, v] of Object.entries(svc.environment ?? {})) if (/PASSWORD|TOKEN|SECRET/.test(k)) expect(v, k).toMatch(/^\$\{[A-Z_]+:[?-][^}]*\}$/);
    }
  });

  it('finds every variable compose.yaml references in .env.example', () => {
    const referenced = [...read('compose.yaml').matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]!);
    expect(referenced.length).toBeGreaterThan(5);
    expect(referenced.filter((name) => !(name in envExample))).toEqual([]);
  });

  it('gives every PGWARDEN_* variable in .env.example to the pgwarden service (nothing documented is silently dropped)', () => {
    const given = Object.keys(compose.services.pgwarden!.environment ?? {});
    expect(Object.keys(envExample).filter((k) => k.startsWith('PGWARDEN_') && !given.includes(k))).toEqual([]);
  });

  it("mounts a pgwarden config that pgwarden's own loader accepts with .env.example applied, linking to public_url", () => {
    const configPath = hostPath('pgwarden', '/etc/pgwarden/pgwarden.yaml');
    const config = loadConfig({ config: configPath }, pgwardenEnv());
    expect(config.audit.file).toBe('/var/lib/pgwarden/audit.jsonl');
    expect(splitHostPort(config.http).port).toBe(7433);
    expect(compose.services.pgwarden!.volumes).toContain('audit:/var/lib/pgwarden');
    expect(config.approvals.public_url).toBe(envExample.PGWARDEN_PUBLIC_URL);
    expect(config.approvals.public_url).not.toMatch(/0\.0\.0\.0/);
    expect(Object.keys(config.approvals.api_tokens)).toEqual([approverIdentity]);
    // Teams is wired but optional: off with the example's values, and the config still loads with it on.
    expect(config.teams.enabled).toBe(false);
    const withTeams = loadConfig({ config: configPath }, { ...pgwardenEnv(), PGWARDEN_TEAMS_ENABLED: 'true', PGWARDEN_TEAMS_APP_ID: 'app', PGWARDEN_TEAMS_TENANT_ID: 'tenant', PGWARDEN_TEAMS_APP_PASSWORD: 'pw', PGWARDEN_TEAMS_CONVERSATION_ID: '19:x@thread.tacv2' });
    expect(withTeams.teams).toMatchObject({ enabled: true, app_id: 'app', tenant_id: 'tenant', conversation_id: '19:x@thread.tacv2', credential: 'client_secret' });
  });

  it('mounts the rules from docker/rules (not baked into the image) and points the config at the mount', () => {
    const configPath = hostPath('pgwarden', '/etc/pgwarden/pgwarden.yaml');
    const config = loadConfig({ config: configPath }, pgwardenEnv());
    const rulesOnHost = hostPath('pgwarden', config.rules);
    expect(rulesOnHost).toBe(join(dockerDir, 'rules'));
    expect(compose.services.pgwarden!.volumes).toContain('./rules:/etc/pgwarden/rules:ro');
    expect(loadRules(rulesOnHost).rules.length).toBeGreaterThan(0);
  });

  it('lets the approver whose token is in .env.example approve every kind of review in the mounted rules', async () => {
    const ruleSet = loadRules(hostPath('pgwarden', '/etc/pgwarden/rules'));
    await loadSqlParser();
    const analyzer = createAnalyzer({ maxRows: 10_000, cacheEntries: 0 });
    const reviewed = ['CREATE TABLE t (id int)', 'GRANT SELECT ON t TO reporting', 'COPY customers TO STDOUT', 'SELEC broken'];
    for (const sql of reviewed) {
      const verdict = ruleSet.evaluate(analyzer.analyze(sql), { user: 'agent', application: 'psql', address: '127.0.0.1' }, { database: 'postgres', inTransactionBlock: false, now: new Date() });
      expect(verdict.action, sql).toBe('review');
      expect(verdict.review!.approvers, sql).toContain(approverIdentity);
    }
  });
});

describe('docker/prometheus', () => {
  const prom = yaml<{ rule_files: string[]; scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[] }>('prometheus/prometheus.yml');

  it('scrapes pgwarden /metrics on its HTTP port and loads alerts.yml', () => {
    const job = prom.scrape_configs.find((j) => j.job_name === 'pgwarden')!;
    expect(job.metrics_path ?? '/metrics').toBe('/metrics');
    expect(job.static_configs[0]!.targets).toContain('pgwarden:7433');
    // Relative rule_files resolve against prometheus.yml's folder, in the container (/etc/prometheus) and in a clone.
    const inContainer = prom.rule_files.map((f) => (f.startsWith('/') ? f : `/etc/prometheus/${f}`));
    for (const f of inContainer) expect(existsSync(hostPath('prometheus', f)), f).toBe(true);
    expect(inContainer.map((f) => hostPath('prometheus', f))).toContain(join(dockerDir, 'prometheus/alerts.yml'));
    expect(compose.services.prometheus!.command).toContain('--config.file=/etc/prometheus/prometheus.yml');
  });

  it('has alert rules for approvals piling up, upstream down, audit sink failing, denial spikes and Redis down', () => {
    const names = alertExprs.map((a) => a.where);
    for (const wanted of ['PgwardenApprovalsPilingUp', 'PgwardenUpstreamDown', 'PgwardenAuditSinkFailing', 'PgwardenDenialSpike', 'PgwardenRedisDown']) {
      expect(names).toContain(`alert ${wanted}`);
    }
  });

  it('gives every alert a severity and a summary', () => {
    for (const rule of alerts.groups.flatMap((g) => g.rules)) {
      expect(['critical', 'warning', 'info'], rule.alert).toContain(rule.labels.severity);
      expect(rule.annotations.summary, rule.alert).toBeTruthy();
      if (rule.for !== undefined) expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
    }
  });
});

describe('docker/grafana', () => {
  it('provisions the Prometheus datasource and loads dashboards from the mounted folder', () => {
    const ds = yaml<{ datasources: { type: string; url: string; uid: string }[] }>('grafana/provisioning/datasources/prometheus.yaml');
    expect(ds.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    const providers = yaml<{ providers: { options: { path: string } }[] }>('grafana/provisioning/dashboards/pgwarden.yaml');
    expect(hostPath('grafana', providers.providers[0]!.options.path)).toBe(join(dockerDir, 'grafana/dashboards'));
    expect(hostPath('grafana', '/etc/grafana/provisioning')).toBe(join(dockerDir, 'grafana/provisioning'));
  });

  it('has a dashboard covering traffic by category, decisions, pending approvals, time to decision and latency', () => {
    const titles = dashboard.panels.map((p) => p.title.toLowerCase());
    for (const wanted of ['traffic by category', 'decisions', 'pending approvals', 'time to decision', 'latency']) {
      expect(titles.some((t) => t.includes(wanted)), wanted).toBe(true);
    }
  });

  it('selects its datasource through a variable, so it imports into any Grafana', () => {
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource' }));
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets!) expect(t.datasource.uid).toBe('${datasource}');
    }
  });
});

describe('queries name only metrics the code exports', () => {
  it('every pgwarden_* name in dashboard queries and alert expressions exists (histograms via _bucket/_sum/_count)', async () => {
    const json = await createMetrics().registry.getMetricsAsJSON();
    const types = new Map(json.map((m) => [m.name, String(m.type)]));
    const problems: string[] = [];
    for (const { where, expr } of [...dashboardExprs, ...alertExprs]) {
      for (const [name] of expr.matchAll(/\bpgwarden_[a-z0-9_]+/g)) {
        const base = name.replace(/_(bucket|sum|count)$/, '');
        if (types.get(name) !== undefined && types.get(name) !== 'histogram') continue;
        if (base !== name && types.get(base) === 'histogram') continue;
        problems.push(`${where}: ${name}${types.get(name) === 'histogram' ? ' is a histogram; query _bucket, _sum or _count' : ' is not exported by createMetrics()'}`);
      }
    }
    expect(problems).toEqual([]);
    expect(dashboardExprs.length + alertExprs.length).toBeGreaterThan(20);
  });

  it('every process_* / nodejs_* name in dashboard queries exists under its conventional unprefixed name', async () => {
    const names = new Set((await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
    const used = dashboardExprs.flatMap(({ where, expr }) => [...expr.matchAll(/\b((?:process|nodejs)_[a-z0-9_]+)/g)].map((m) => ({ where, name: m[1]! })));
    expect(used.length).toBeGreaterThanOrEqual(3);
    expect(used.filter((u) => !names.has(u.name))).toEqual([]);
    expect(dashboardExprs.filter((e) => e.expr.includes('pgwarden_process_'))).toEqual([]);
  });

  it('every expression has balanced brackets and quotes', () => {
    for (const { where, expr } of [...dashboardExprs, ...alertExprs]) {
      let depth = 0;
      for (const ch of expr.replace(/"[^"]*"/g, '""')) {
        if ('([{'.includes(ch)) depth++;
        if (')]}'.includes(ch)) depth--;
        expect(depth, where).toBeGreaterThanOrEqual(0);
      }
      expect(depth, where).toBe(0);
      expect((expr.match(/"/g) ?? []).length % 2, where).toBe(0);
    }
  });
});
