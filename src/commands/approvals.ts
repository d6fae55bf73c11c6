// `pgwarden approvals list | approve ID | deny ID`: an approver's CLI over a running instance's HTTP API (bearer token).
import { Command, Option } from 'commander';
import type { ApiApprovalRequest } from '../approvals/api-shape.js';

/** Same codes as cli.ts EXIT (not imported: cli.ts runs the program when loaded). 1 = refused (403/404/409). */
const EXIT = { ok: 0, refused: 1, usage: 2, unavailable: 3 } as const;
const STATUSES = ['pending', 'approved', 'denied', 'expired', 'withdrawn'] as const;
const DEFAULT_URL = 'http://127.0.0.1:7433';
const TIMEOUT_MS = 10_000;

interface CommonOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

/** Thrown inside the command; becomes a message on stderr and an exit code. */
class CliFailure extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

function addCommon(cmd: Command): Command {
  return cmd
    .option('--url <url>', `pgwarden HTTP address (env PGWARDEN_URL, default ${DEFAULT_URL})`)
    .option('--token <token>', 'your approver token (env PGWARDEN_TOKEN)')
    .option('--json', 'print the API response as JSON');
}

export function register(program: Command): void {
  const approvals = program
    .command('approvals')
    .description("list and decide approval requests on a running pgwarden (uses its HTTP API with your approver token)")
    .addHelpText(
      'after',
      `
Examples:
  export PGWARDEN_URL=http://pgwarden.internal:7433 PGWARDEN_TOKEN=…   # token from approvals.api_tokens
  pgwarden approvals list                       # requests waiting for a decision
  pgwarden approvals list --status denied --json
  pgwarden approvals approve apr_7kq2mx4dzt --reason "one-off backfill, ticket OPS-142"
  pgwarden approvals approve apr_7kq2mx4dzt --scope fingerprint   # also let identical-shape statements pass for a while
  pgwarden approvals deny apr_7kq2mx4dzt --reason "use the reporting replica"

Exit codes: 0 done, 1 refused (self-approval, not an approver, already decided, unknown id),
            2 usage (bad flags, missing or rejected token), 3 pgwarden not reachable.`,
    );

  addCommon(
    approvals
      .command('list')
      .description('show approval requests (default: pending)')
      .addOption(new Option('--status <status>', 'which requests to show').choices([...STATUSES, 'all']).default('pending'))
      .option('--limit <n>', 'at most this many', '100'),
  ).action(async (opts: CommonOptions & { status: string; limit: string }) => {
    await run(async () => {
      const query = new URLSearchParams({ limit: opts.limit });
      if (opts.status !== 'all') query.set('status', opts.status);
      const body = (await call(opts, 'GET', `/api/approvals?${query}`)) as { approvals: ApiApprovalRequest[] };
      if (opts.json) print(JSON.stringify(body, null, 2));
      else print(formatTable(body.approvals, opts.status));
    });
  });

  for (const decision of ['approve', 'deny'] as const) {
    const cmd = approvals
      .command(`${decision} <id>`)
      .description(decision === 'approve' ? 'approve a pending request (the held statement then runs)' : "deny a pending request (the agent gets 42501 with your reason)")
      .option('--reason <text>', 'why (shown to the agent and kept in the audit log)');
    if (decision === 'approve') cmd.addOption(new Option('--scope <scope>', 'once, or fingerprint: identical-shape statements from this actor pass for the rule\'s grant time').choices(['once', 'fingerprint']));
    addCommon(cmd).action(async (id: string, opts: CommonOptions & { reason?: string; scope?: string }) => {
      await run(async () => {
        const payload = { decision, reason: opts.reason ?? '', via: 'cli', ...(opts.scope ? { scope: opts.scope } : {}) };
        const request = (await call(opts, 'POST', `/api/approvals/${encodeURIComponent(id)}/decision`, payload)) as ApiApprovalRequest;
        if (opts.json) print(JSON.stringify(request, null, 2));
        else print(describeOutcome(request, decision));
        const narrowed = scopeNarrowed(request, opts.scope);
        if (narrowed) process.stderr.write(`pgwarden: note: ${narrowed}\n`);
      });
    });
  }
}

async function run(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof CliFailure)) throw err;
    process.stderr.write(`pgwarden: ${err.message}\n`);
    process.exitCode = err.exitCode;
  }
}

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** One API call; maps transport failures and HTTP errors to CliFailure with the server's message. */
async function call(opts: CommonOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const base = (opts.url ?? process.env.PGWARDEN_URL ?? DEFAULT_URL).replace(/\/+$/, '');
  const token = opts.token ?? process.env.PGWARDEN_TOKEN;
  let url: URL;
  try {
    url = new URL(base + path);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new CliFailure(EXIT.usage, `--url '${base}' is not an http(s) URL; e.g. --url ${DEFAULT_URL}`);
  }
  if (!token) throw new CliFailure(EXIT.usage, 'no approver token: pass --token TOKEN or set PGWARDEN_TOKEN (tokens are configured in approvals.api_tokens)');
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json', 'User-Agent': 'pgwarden-cli', ...(body ? { 'Content-Type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000}s` : (e.cause?.code ?? e.message);
    throw new CliFailure(EXIT.unavailable, `cannot reach pgwarden at ${base} (${why}); is \`pgwarden serve\` running with --http on that address? Point --url or PGWARDEN_URL at it`);
  }
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (res.ok) return data;
  const message = (data as { error?: { message?: string } } | null)?.error?.message ?? `HTTP ${res.status} ${res.statusText}`;
  if (res.status === 401) throw new CliFailure(EXIT.usage, `token rejected by ${base}: ${message}`);
  if (res.status === 400 || res.status === 413 || res.status === 415) throw new CliFailure(EXIT.usage, message);
  if (res.status === 403 || res.status === 404 || res.status === 409) throw new CliFailure(EXIT.refused, message);
  if (res.status === 503 || res.status === 502 || res.status === 504) throw new CliFailure(EXIT.unavailable, `${base} is up but cannot serve approvals right now: ${message}`);
  throw new CliFailure(EXIT.refused, message);
}

function describeOutcome(r: ApiApprovalRequest, decision: 'approve' | 'deny'): string {
  const rule = r.rule ?? 'default';
  if (r.status === 'approved') {
    const scope = r.decisions.some((d) => d.scope === 'fingerprint') && r.decisions.filter((d) => d.decision === 'approve').every((d) => d.scope === 'fingerprint') ? ' (scope: fingerprint)' : '';
    return `approved ${r.id} (rule ${rule})${scope}: the held statement runs now`;
  }
  if (r.status === 'denied') return `denied ${r.id} (rule ${rule}): the agent gets SQLSTATE 42501${r.decisions.at(-1)?.reason ? ` with your reason` : ''}`;
  const approvals = r.decisions.filter((d) => d.decision === 'approve').length;
  return decision === 'approve' ? `vote recorded on ${r.id}: ${approvals} of ${r.quorum} approvals; still pending` : `${r.id} is ${r.status}`;
}

/**
 * Why `--scope fingerprint` did not become a grant, or null when it did (or was not asked for). The server records
 * the vote as `once` where the rule does not allow fingerprint grants, and grants a fingerprint only when every
 * approving vote chose it: say so instead of letting the approver believe later statements will pass.
 */
export function scopeNarrowed(r: ApiApprovalRequest, asked: string | undefined): string | null {
  if (asked !== 'fingerprint') return null;
  if (!r.scopes.includes('fingerprint')) {
    return `rule ${r.rule ?? 'default'} does not allow fingerprint approvals (its scope allows: ${r.scopes.join(', ') || 'once'}); your approval covers this statement only (scope: once)`;
  }
  const votes = r.decisions.filter((d) => d.decision === 'approve');
  if (r.status === 'approved' && !votes.every((d) => d.scope === 'fingerprint')) {
    return 'not every approver chose fingerprint, so the approval covers this statement only (scope: once)';
  }
  return null;
}

/** "42s", "5m", "3h" for a span of milliseconds. */
function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

function oneLine(sql: string, max: number): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function formatTable(rows: readonly ApiApprovalRequest[], status: string): string {
  if (rows.length === 0) return status === 'pending' ? 'no pending approval requests' : `no ${status === 'all' ? '' : `${status} `}approval requests`;
  const now = Date.now();
  const header = ['ID', 'STATUS', 'AGE', 'EXPIRES', 'ACTOR', 'DATABASE', 'RULE', 'CATEGORIES', 'VOTES', 'SQL'];
  const table = rows.map((r) => [
    r.id,
    r.status,
    span(now - Date.parse(r.created_at)),
    r.status === 'pending' ? `in ${span(Date.parse(r.expires_at) - now)}` : '-',
    `${r.actor.user}${r.actor.application ? ` (${r.actor.application})` : ''}`,
    r.database,
    r.rule ?? 'default',
    r.categories.join(','),
    `${r.decisions.filter((d) => d.decision === 'approve').length}/${r.quorum}${r.decisions.some((d) => d.decision === 'deny') ? ' denied' : ''}`,
    oneLine(r.sql, 60),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...table.map(line)].join('\n');
}
