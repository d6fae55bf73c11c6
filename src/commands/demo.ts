// `pgwarden demo`: a working firewall with no setup — embedded PostgreSQL with demo data, in-memory approvals, the
// default rules and the console, with a sign-in link and statements to try. The work is in src/demo/.
import type { Command } from 'commander';
import { runDemo } from '../demo/run.js';

interface DemoFlags {
  upstream?: string;
  seed?: boolean;
  listen: string;
  http: string;
  activity: boolean;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('try pgwarden with nothing installed: an embedded PostgreSQL with demo data behind the firewall, the default rules, and the approval console')
    .option('--listen <host:port>', 'where clients connect to the firewall', '127.0.0.1:7432')
    .option('--http <host:port>', 'the approval console, HTTP API and metrics', '127.0.0.1:7433')
    .option('--upstream <url>', 'protect this PostgreSQL instead of the embedded one, e.g. postgres://me@127.0.0.1:5432/app (its data is left as is)')
    .option('--seed', 'with --upstream: create the demo tables (customers, products, orders, order_items) in that database first')
    .option('--no-activity', 'do not print a line for each statement the firewall decides')
    .addHelpText(
      'after',
      `
Examples:
  $ npx pgwarden demo                                   # embedded database on 127.0.0.1:7432, console on :7433
  $ npx pgwarden demo --listen 127.0.0.1:6432 --http 127.0.0.1:8433
  $ npx pgwarden demo --upstream postgres://postgres@127.0.0.1:5432/scratch --seed

The demo prints a connection string, a console link that signs you in as the approver (a new token each run)
and statements to try: a read that passes, an export that waits for your approval, a GRANT that is reviewed
and a COPY … TO PROGRAM that is refused. Ctrl-C stops everything. PGWARDEN_* settings are ignored except
PGWARDEN_LOG_LEVEL (default warn). docs/demo.md describes the demo data and its limits.`,
    )
    .action(async (flags: DemoFlags) => {
      await runDemo({
        listen: flags.listen,
        http: flags.http,
        ...(flags.upstream ? { upstream: flags.upstream } : {}),
        ...(flags.seed ? { seed: true } : {}),
        activity: flags.activity,
      });
    });
}
