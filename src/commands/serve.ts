// `pgwarden serve`: run the firewall (proxy + HTTP server) until SIGINT/SIGTERM; SIGHUP reloads the rules.
import type { Command } from 'commander';
import { loadConfig, type ConfigFlags } from '../config.js';
import { createLogger } from '../log.js';
import { startApp } from '../app.js';

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the firewall: a PostgreSQL proxy on --listen and the HTTP server (metrics, health, API, console) on --http')
    .option('--config <file>', 'YAML config file (env PGWARDEN_CONFIG)')
    .option('--listen <host:port>', 'where clients connect (env PGWARDEN_LISTEN, default 127.0.0.1:7432)')
    .option('--upstream <url>', 'the PostgreSQL server to protect, e.g. postgres://db:5432 (env PGWARDEN_UPSTREAM)')
    .option('--rules <path>', 'rule file or folder (env PGWARDEN_RULES, default: the shipped rules/default.yaml)')
    .option('--redis <url>', 'Redis for shared approval state: redis://host:6379, redis+sentinel://host:26379[,host…]/MASTER or redis+cluster://host:6379[,host…] (env PGWARDEN_REDIS; default in-memory)')
    .option('--http <host:port>', 'metrics, health, API and console (env PGWARDEN_HTTP, default 127.0.0.1:7433)')
    .option('--audit <file>', 'hash-chained audit log file, JSON lines (env PGWARDEN_AUDIT)')
    .option('--tls-cert <file>', 'PEM certificate chain for TLS to clients (env PGWARDEN_TLS_CERT); reloaded on SIGHUP and when the file changes')
    .option('--tls-key <file>', 'PEM private key for --tls-cert (env PGWARDEN_TLS_KEY)')
    .addHelpText(
      'after',
      `
Examples:
  $ pgwarden serve --upstream postgres://127.0.0.1:5432
  $ PGWARDEN_API_TOKENS="alice@example.com=s3cret" pgwarden serve --upstream postgres://db:5432 --rules ./rules --audit audit.jsonl
  $ pgwarden serve --config pgwarden.yaml --redis redis://redis:6379

Agents then connect to postgres://USER:PASSWORD@127.0.0.1:7432/DB exactly as to PostgreSQL.
With --tls-cert/--tls-key, clients may use sslmode=require … verify-full; the upstream leg takes libpq's
parameters: --upstream 'postgres://db:5432/?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem'.
Signals: SIGHUP reloads the rules (an invalid version is refused and the old rules stay) and the TLS
certificates, and reopens the audit file after log rotation; SIGINT/SIGTERM drain: /readyz fails, idle sessions
get 57P01, held statements are withdrawn, running ones get shutdown_grace (30s) before they are cancelled upstream.`,
    )
    .action(async (flags: ConfigFlags) => {
      const config = loadConfig(flags);
      const logger = createLogger({ level: config.log.level, ...(config.log.pretty === undefined ? {} : { pretty: config.log.pretty }) });
      const app = await startApp({ config, logger });
      process.on('SIGHUP', () => {
        logger.info('SIGHUP: reloading rules and TLS certificates, reopening the audit file');
        app.reloadRules();
        app.reloadTls();
        app.reopenAudit().catch((err: unknown) => logger.error({ err }, 'audit file could not be reopened'));
      });
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal, grace_ms: config.shutdown_grace }, 'shutting down');
        // Bounded: the drain itself ends within the grace period plus a few seconds of cancels; this is the backstop.
        setTimeout(() => {
          logger.error('shutdown did not finish in time; exiting');
          process.exit(1);
        }, config.shutdown_grace + 15_000).unref();
        app.shutdown().then(
          () => process.exit(0),
          (err) => {
            logger.error({ err }, 'error during shutdown');
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
}
