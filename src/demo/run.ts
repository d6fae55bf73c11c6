// Runs the demo: embedded (or --upstream) database, demo rules and approver token, the whole app via startApp, the
// banner and activity feed; stops everything in reverse order on SIGINT/SIGTERM and exits 0.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, upstreamTarget } from '../config.js';
import { ConfigError } from '../errors.js';
import { createLogger } from '../log.js';
import { startApp, type App } from '../app.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.js';
import { DEMO_APPROVER, writeDemoRules } from './rules.js';
import { assertPortFree } from './ports.js';
import { formatBanner } from './banner.js';
import { followActivity, type ActivityFeed } from './activity.js';
import { seedUpstream } from './seed-upstream.js';

export interface DemoOptions {
  listen: string;
  http: string;
  upstream?: string;
  seed?: boolean;
  /** Print the live activity feed (default true). */
  activity?: boolean;
}

const say = (text: string) => process.stdout.write(`${text}\n`);

/** What clients type: the upstream's user and database, pgwarden's address, no password. */
export function clientConnectionString(upstream: string, proxy: { host: string; port: number }): string {
  const u = new URL(upstream);
  const user = u.username || 'postgres';
  const database = u.pathname.replace(/^\//, '') || user;
  const host = proxy.host.includes(':') ? `[${proxy.host}]` : proxy.host;
  return `postgres://${user}@${host}:${proxy.port}/${database}`;
}

export async function runDemo(opts: DemoOptions): Promise<void> {
  if (opts.seed && !opts.upstream) throw new ConfigError('--seed only applies with --upstream (the embedded database is always seeded)');
  if (opts.upstream && !/^postgres(ql)?:\/\//.test(opts.upstream)) throw new ConfigError(`--upstream: expected a postgres:// URL, got ${JSON.stringify(opts.upstream.replace(/:[^:@/]*@/, ':…@'))}`);
  // Validate HOST:PORT shapes through the config schema before binding anything.
  loadConfig({ listen: opts.listen, http: opts.http }, {});
  await assertPortFree(opts.listen, '--listen', 'the demo firewall');
  await assertPortFree(opts.http, '--http', 'the demo console and API');

  const dir = mkdtempSync(join(tmpdir(), 'pgwarden-demo-'));
  let db: EmbeddedPostgres | null = null;
  let app: App | null = null;
  let feed: ActivityFeed | null = null;
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await feed?.stop();
      await app?.close();
      await db?.close();
      rmSync(dir, { recursive: true, force: true });
    })());

  try {
    let upstream: string;
    if (opts.upstream) {
      upstream = opts.upstream;
      if (opts.seed) {
        say('pgwarden demo: creating the demo tables in the --upstream database…');
        await seedUpstream(upstream);
      }
    } else {
      say('pgwarden demo: starting the embedded PostgreSQL and loading the demo data (a few seconds)…');
      db = await startEmbeddedPostgres();
      upstream = db.url;
    }

    const token = randomBytes(18).toString('base64url');
    const rules = writeDemoRules(dir);
    const auditFile = join(dir, 'audit.jsonl');
    const config = loadConfig(
      { listen: opts.listen, http: opts.http, upstream, rules: rules.file, audit: auditFile },
      // A demo ignores PGWARDEN_* settings meant for a real deployment, except how much to log.
      {},
      {
        'approvals.api_tokens': { [DEMO_APPROVER]: token },
        'approvals.progress_interval': '15s',
        'audit.reads': 'all',
        'log.level': process.env.PGWARDEN_LOG_LEVEL ?? 'warn',
      },
    );
    const logger = createLogger({ level: config.log.level });
    try {
      app = await startApp({ config, logger });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EADDRINUSE') throw new ConfigError(`an address became busy while the demo started (${e.message}); choose other ports with --listen and --http`);
      throw err;
    }

    const groups = ['dba', ...rules.addedTo.filter((g) => g !== 'dba')];
    const target = upstreamTarget(upstream);
    say(
      formatBanner({
        proxy: app.proxyAddress,
        connectionString: clientConnectionString(upstream, app.proxyAddress),
        consoleUrl: `${app.publicUrl}/#token=${token}`,
        publicUrl: app.publicUrl,
        token,
        approver: DEMO_APPROVER,
        approverGroups: groups,
        upstream: db ? { embedded: true } : { embedded: false, display: target.display, seeded: opts.seed === true, hasPassword: new URL(upstream).password !== '' },
        rulesFile: rules.file,
        rulesNote: `the shipped default rules, with ${DEMO_APPROVER} also in group${rules.addedTo.length === 1 ? '' : 's'} ${rules.addedTo.join(', ') || '(none)'} so one person can approve every example`,
        activityFeed: opts.activity !== false,
        discardsData: db !== null,
      }),
    );
    if (opts.activity !== false) feed = followActivity(auditFile, process.stdout);
  } catch (err) {
    await stop();
    throw err;
  }

  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      // A second Ctrl-C while stopping leaves at once.
      process.once('SIGINT', () => process.exit(130));
      say(`\npgwarden demo: ${signal}, stopping…`);
      stop().then(
        () => {
          say('pgwarden demo: stopped.');
          resolve();
        },
        (err: unknown) => {
          process.stderr.write(`pgwarden demo: error while stopping: ${(err as Error).message}\n`);
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  process.exit(0);
}
