// `pgwarden rules replay --audit FILE… --rules PATH`: re-judges recorded statements under other rules and prints what
// would change (human report or --json); --fail-on turns chosen changes into exit code 1 for CI.
import { styleText } from 'node:util';
import { Command, InvalidArgumentError, Option } from 'commander';
import { replayAuditFiles } from '../audit/learn.js';
import { AuditReadError } from '../audit/verify.js';
import { loadRules } from '../policy/load.js';
import { FAIL_ON, type FailOn, type ReplayExample, type ReplayReport } from '../policy/replay.js';
import { n, parseCount, parseSince, parseUntil } from './learn-options.js';

/** Same codes as cli.ts EXIT (not imported: cli.ts runs the program when loaded). */
const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

interface ReplayOptions {
  audit: string[];
  rules: string;
  since?: Date;
  until?: Date;
  json?: boolean;
  failOn?: FailOn[];
  maxRows: number;
  top: number;
  examples: number;
}

function parseFailOn(value: string, previous: FailOn[] = []): FailOn[] {
  const out = [...previous];
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    if (!(FAIL_ON as readonly string[]).includes(part)) throw new InvalidArgumentError(`unknown condition '${part}'; use ${FAIL_ON.join(', ')}`);
    out.push(part as FailOn);
  }
  return out;
}

const ACTION_STYLE = { allow: 'green', review: 'yellow', deny: 'red' } as const;
const OUTCOME_WORDS: Record<string, string> = {
  ran: 'ran (policy allowed)',
  refused: 'refused by policy',
  approved: 'approved by a human',
  denied: 'denied by a human',
  expired: 'expired unanswered',
  withdrawn: 'withdrawn',
  granted: 'ran under an approval grant',
  pending: 'undecided in this log',
};

function transition(from: string, to: string): string {
  return `${styleText(ACTION_STYLE[from as 'allow'], from)} → ${styleText(['bold', ACTION_STYLE[to as 'allow']], to)}`;
}

function outcomes(counts: Partial<Record<string, number>>): string {
  return Object.entries(counts)
    .filter(([, v]) => (v ?? 0) > 0)
    .map(([k, v]) => `${n(v!)} ${OUTCOME_WORDS[k] ?? k}`)
    .join(', ');
}

function exampleLine(e: ReplayExample): string {
  const where = e.seq !== null ? `seq ${e.seq}` : `${e.file}:${e.line}`;
  return `      ${styleText('dim', `${e.ts?.slice(0, 19).replace('T', ' ') ?? '?'} ${where} ${e.user ?? '?'}@${e.database ?? '?'}${e.request_id ? ` ${e.request_id}` : ''} (${e.outcome})`)}  ${e.sql ?? ''}`;
}

export function formatReplay(r: ReplayReport, files: number, failOn: readonly FailOn[]): string {
  const out: string[] = [];
  const span = r.from ? ` from ${r.from.slice(0, 19).replace('T', ' ')} to ${r.to?.slice(0, 19).replace('T', ' ')}` : '';
  out.push(`${styleText('bold', 'replay')} of ${n(r.statements)} recorded statement(s) in ${files} file(s)${span} under ${r.rules}`);
  out.push(`  re-judged ${n(r.rejudged)}: ${n(r.unchanged)} unchanged, ${styleText('bold', n(r.changed))} would change action, ${n(r.rule_changed)} same action by another rule`);
  const nr = r.not_rejudgeable;
  if (nr.total > 0) {
    const parts = [
      nr.capped ? `${n(nr.capped)} capped text` : '',
      nr.facts_differ ? `${n(nr.facts_differ)} whose stored text no longer gives the recorded categories (redacted literal, EXECUTE of an unlogged PREPARE, other max_rows)` : '',
      nr.no_text ? `${n(nr.no_text)} without text` : '',
      nr.no_actor ? `${n(nr.no_actor)} without actor or database` : '',
    ].filter(Boolean);
    out.push(`  ${styleText('yellow', 'not re-judgeable')}: ${n(nr.total)} (${parts.join('; ')})`);
  }
  out.push(
    r.reads.not_recorded > 0
      ? `  reads: ${n(r.reads.recorded)} recorded and re-judged; ${styleText('yellow', `${n(r.reads.not_recorded)} not in the log`)} (audit.reads) — their verdicts under the new rules are unknown`
      : `  reads: ${n(r.reads.recorded)} recorded; the log reports no unrecorded reads (audit.reads: all, or a log without reads_unrecorded records)`,
  );
  if (r.summarized > 0) out.push(`  ${n(r.summarized)} denied statement(s) were summarised by the writer (repeated denials of one shape by one actor): judged by each summary's sample`);
  if (r.records_lost > 0) out.push(`  ${styleText('yellow', `${n(r.records_lost)} record(s) were lost`)} while the audit file failed (records_lost): the log is incomplete`);
  if (r.changed + r.rule_changed === 0) {
    out.push(styleText('green', 'no recorded statement would be decided differently'));
  } else {
    out.push(`  approvals: ${n(r.approvals.saved)} request(s) would no longer be needed${r.approvals.saved ? ` (they were: ${outcomes(r.approvals.saved_outcomes)})` : ''}; ${n(r.approvals.required)} statement(s) that ran freely would wait for an approver`);
    out.push('', styleText('bold', 'by rule'));
    for (const g of r.by_rule) {
      out.push(`  ${transition(g.from, g.to)}  ${n(g.count)} × — was rule ${g.old_rule ?? '(defaults)'}, now rule ${g.new_rule ?? '(defaults)'}`);
      out.push(`      ${outcomes(g.outcomes)}`);
      for (const e of g.examples) out.push(exampleLine(e));
    }
    out.push('', `${styleText('bold', 'by statement shape')}${r.by_fingerprint_total > r.by_fingerprint.length ? ` (top ${r.by_fingerprint.length} of ${n(r.by_fingerprint_total)}; --top N for more)` : ''}`);
    for (const g of r.by_fingerprint) {
      out.push(`  ${transition(g.from, g.to)}  ${n(g.count)} ×  ${styleText('dim', g.fingerprint)}  ${g.normalized}`);
      out.push(`      users ${g.users.join(', ')}; databases ${g.databases.join(', ')}; ${outcomes(g.outcomes)}`);
    }
  }
  const shadows = Object.entries(r.shadow);
  if (shadows.length > 0) out.push('', `shadow verdicts these rules would record: ${shadows.map(([k, v]) => `${k} ${n(v)}`).join(', ')}`);
  if (failOn.length > 0) {
    const hit = failOn.filter((f) => r.fail_on[f] > 0);
    out.push('', hit.length > 0 ? styleText(['bold', 'red'], `FAIL: ${hit.map((f) => `${f} (${n(r.fail_on[f])})`).join(', ')}`) : styleText('green', `ok: no ${failOn.join(', ')}`));
  }
  return `${out.join('\n')}\n`;
}

async function run(opts: ReplayOptions): Promise<void> {
  const ruleSet = loadRules(opts.rules);
  for (const w of ruleSet.warnings) process.stderr.write(`pgwarden: warning: ${w}\n`);
  let result;
  try {
    result = await replayAuditFiles({ files: opts.audit, ruleSet, maxRows: opts.maxRows, top: opts.top, examples: opts.examples, ...(opts.since ? { since: opts.since } : {}), ...(opts.until ? { until: opts.until } : {}) });
  } catch (err) {
    if (err instanceof AuditReadError) {
      process.stderr.write(`pgwarden: ${err.message}; check the path and permissions\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    throw err;
  }
  const { report, scan } = result;
  if (scan.malformed > 0) process.stderr.write(`pgwarden: warning: ${scan.malformed} line(s) were not JSON records and were skipped\n`);
  const failOn = opts.failOn ?? [];
  if (opts.json) process.stdout.write(`${JSON.stringify({ ...report, files: opts.audit, malformed_lines: scan.malformed, failed: failOn.filter((f) => report.fail_on[f] > 0) })}\n`);
  else process.stdout.write(formatReplay(report, opts.audit.length, failOn));
  process.exitCode = failOn.some((f) => report.fail_on[f] > 0) ? EXIT.failed : EXIT.ok;
}

export function registerReplay(rules: Command): void {
  rules
    .command('replay')
    .description('re-judge the statements of an audit log under other rules and show what would change (backtest)')
    .requiredOption('--audit <files...>', 'audit JSON-lines files (.gz too), or an extract of the Postgres sink’s record column')
    .addOption(new Option('--rules <path>', 'the rules to replay under (file or folder)').env('PGWARDEN_RULES').makeOptionMandatory())
    .option('--since <when>', 'only records from this time: a duration back from now (30d, 12h) or ISO 8601', (v) => parseSince(v))
    .option('--until <time>', 'only records before this ISO 8601 time', parseUntil)
    .option('--fail-on <conditions>', `exit 1 when a change meets any of: ${FAIL_ON.join(', ')} (comma-separated or repeated)`, parseFailOn)
    .option('--json', 'print one JSON object (for CI)')
    .option('--max-rows <n>', 'limits.max_rows of the instance that wrote the log (a LIMIT above it is an export)', parseCount(1), 10_000)
    .option('--top <n>', 'statement shapes listed (by_fingerprint)', parseCount(0), 20)
    .option('--examples <n>', 'example statements per group', parseCount(0), 3)
    .addHelpText(
      'after',
      `
Compares each recorded verdict (action and rule) with what the rules at --rules decide for the same text, actor,
database and time. Statements that cannot be judged again (capped or redacted texts whose facts changed, records
without text) are counted, never guessed. Reads are in the log only as audit.reads says: the report gives how many
were not recorded.

--fail-on conditions:
  any               any statement's action would change
  denied-approved   a statement a human approved (or that ran under an approval grant) would be denied
  denied-allowed    a statement the policy allowed would be denied
  allowed-denied    a statement that was refused (by a rule or a human) would be allowed
  review-added      a statement that ran freely would wait for an approver

Examples:
  pgwarden rules replay --audit /var/log/pgwarden/audit.jsonl --rules ./rules-new --since 30d
  pgwarden rules replay --audit audit.jsonl.1 audit.jsonl --rules ./rules --since 7d --fail-on denied-approved --json

Exit codes: 0 replayed (and no --fail-on condition met), 1 a --fail-on condition was met,
            2 invalid rules, usage, or an audit file that cannot be read.`,
    )
    .action(async (opts: ReplayOptions) => {
      await run(opts);
    });
}
