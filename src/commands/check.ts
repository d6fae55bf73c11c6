// `pgwarden check`: SQL from stdin → facts and the policy verdict, without connecting anywhere (human, --json or --jsonl).
import { isIP } from 'node:net';
import { createInterface } from 'node:readline';
import { styleText } from 'node:util';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_RULES } from '../config.js';
import { loadRules } from '../policy/load.js';
import type { RuleSet } from '../policy/evaluate.js';
import type { Actor, SessionInfo, Verdict } from '../policy/verdict.js';
import { createAnalyzer, loadSqlParser, statedReason } from '../sql/analyze.js';
import type { StatementFacts, TextFacts } from '../sql/types.js';
import { formatDuration } from '../units.js';

/** Same codes as cli.ts EXIT (not imported: cli.ts runs the program when loaded). */
const EXIT = { ok: 0, usage: 2 } as const;

interface CheckOptions {
  rules?: string;
  json?: boolean;
  jsonl?: boolean;
  user: string;
  application: string;
  address: string;
  database: string;
  at?: Date;
  maxRows: number;
}

/** One statement's facts in the snake_case shape of the `check --json` contract. */
export function statementToJson(s: StatementFacts): Record<string, unknown> {
  const out: Record<string, unknown> = {
    kind: s.kind,
    categories: s.categories,
    tables: s.tables,
    columns: s.columns,
    columns_written: s.columnsWritten,
    functions: s.functions,
    bounded: s.bounded,
    limit: s.limit,
    transaction: s.transaction,
    fingerprint: s.fingerprint,
    normalized: s.normalized,
    text: s.text,
  };
  if (s.prepares !== undefined) out.prepares = s.prepares;
  if (s.executes !== undefined) out.executes = s.executes;
  if (s.setsReason !== undefined) out.sets_reason = s.setsReason;
  return out;
}

/** A verdict in snake_case (the `verdict` member of `check --json`). */
export function verdictToJson(v: Verdict): Record<string, unknown> {
  const out: Record<string, unknown> = { action: v.action, rule: v.rule, reason: v.reason, statement_index: v.statementIndex };
  if (v.review) {
    out.review = {
      approvers: v.review.approvers,
      groups: v.review.groups,
      quorum: v.review.quorum,
      timeout_ms: v.review.timeoutMs,
      scopes: v.review.scopes,
      grant_ttl_ms: v.review.grantTtlMs,
    };
  }
  if (v.shadow) out.shadow = { action: v.shadow.action, rule: v.shadow.rule, reason: v.shadow.reason, statement_index: v.shadow.statementIndex };
  return out;
}

/** The whole `check --json` object for one text. */
export function checkResultToJson(facts: TextFacts, verdict: Verdict): Record<string, unknown> {
  return {
    categories: facts.categories,
    statements: facts.statements.map(statementToJson),
    verdict: verdictToJson(verdict),
    parse_error: facts.parseError,
    stated_reason: statedReason(facts.text),
  };
}

const ACTION_STYLE = { allow: 'green', review: 'yellow', deny: 'red' } as const;

function firstLine(text: string, max = 100): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Readable report; colour only when stdout is a TTY (styleText checks the stream and NO_COLOR). */
export function formatHuman(facts: TextFacts, verdict: Verdict, ruleSet: RuleSet): string {
  const dim = (s: string) => styleText('dim', s);
  const lines: string[] = [];
  if (facts.parseError) lines.push(`${styleText('red', 'parse error:')} ${facts.parseError}`);
  facts.statements.forEach((s, i) => {
    const marker = facts.statements.length > 1 && i === verdict.statementIndex ? ' ◀' : '';
    lines.push(`${styleText('bold', `statement ${i + 1}`)}: ${s.kind}  [${s.categories.join(', ')}]${marker}`);
    if (facts.statements.length > 1) lines.push(`  ${dim(firstLine(s.text))}`);
    if (s.tables.length) lines.push(`  tables:    ${s.tables.join(', ')}`);
    if (s.columns.length) lines.push(`  columns:   ${s.columns.join(', ')}`);
    if (s.columnsWritten.length) lines.push(`  writes:    ${s.columnsWritten.join(', ')}`);
    if (s.functions.length) lines.push(`  functions: ${s.functions.join(', ')}`);
    if (s.kind !== 'Unknown') lines.push(`  bounded:   ${s.bounded ? 'yes' : 'no'}${s.limit !== null ? ` (limit ${s.limit})` : ''}`);
  });
  if (facts.statements.length === 0) lines.push(dim('(no statements)'));
  const reason = statedReason(facts.text);
  if (reason) lines.push(`stated reason: ${reason}`);
  const action = styleText(['bold', ACTION_STYLE[verdict.action]], verdict.action.toUpperCase());
  lines.push(`verdict: ${action}${facts.statements.length > 1 ? ` (statement ${verdict.statementIndex + 1})` : ''} — ${verdict.reason}`);
  const rule = verdict.rule === null ? null : ruleSet.rules.find((r) => r.id === verdict.rule);
  lines.push(`  rule: ${rule ? `${rule.id} (${rule.file}:${rule.line})` : `none (defaults in ${ruleSet.source})`}`);
  if (verdict.shadow) lines.push(`  shadow: would ${verdict.shadow.action.toUpperCase()} (rule ${verdict.shadow.rule ?? 'none: defaults'}) — recorded, not enforced: ${verdict.shadow.reason}`);
  if (verdict.review) {
    const r = verdict.review;
    const who = r.approvers.length ? r.approvers.join(', ') : 'any approver';
    lines.push(`  approvers: ${who}${r.groups.length ? ` (groups ${r.groups.join(', ')})` : ''}`);
    lines.push(`  quorum ${r.quorum}, timeout ${formatDuration(r.timeoutMs)}, scope ${r.scopes.join(' or ')}${r.grantTtlMs ? ` (fingerprint for ${formatDuration(r.grantTtlMs)})` : ''}`);
  }
  return lines.join('\n');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parsePositiveInt(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return Number(v);
}

function parseAddress(v: string): string {
  if (isIP(v) === 0) throw new InvalidArgumentError('expected an IP address such as 127.0.0.1 or ::1');
  return v;
}

function parseTime(v: string): Date {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError('expected an ISO 8601 time such as 2026-03-04T10:00:00Z');
  return d;
}

async function run(opts: CheckOptions): Promise<void> {
  const ruleSet = loadRules(opts.rules ?? DEFAULT_RULES);
  for (const w of ruleSet.warnings) process.stderr.write(`pgwarden: warning: ${w}\n`);
  await loadSqlParser();
  const analyzer = createAnalyzer({ maxRows: opts.maxRows, cacheEntries: 1000 });
  const actor: Actor = { user: opts.user, application: opts.application, address: opts.address };
  const session = (): SessionInfo => ({ database: opts.database, inTransactionBlock: false, now: opts.at ?? new Date() });
  const judge = (text: string) => {
    const facts = analyzer.analyze(text);
    return { facts, verdict: ruleSet.evaluate(facts, actor, session()) };
  };

  if (opts.jsonl) {
    let lineNo = 0;
    let bad = 0;
    for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
      lineNo++;
      if (line.trim() === '') continue;
      let text: unknown;
      try {
        text = JSON.parse(line);
      } catch {
        text = undefined;
      }
      if (typeof text !== 'string') {
        bad++;
        const error = `line ${lineNo}: expected a JSON string holding one SQL text, e.g. "SELECT 1"`;
        process.stderr.write(`pgwarden: check --jsonl: ${error}\n`);
        process.stdout.write(`${JSON.stringify({ error })}\n`);
        continue;
      }
      const { facts, verdict } = judge(text);
      process.stdout.write(`${JSON.stringify(checkResultToJson(facts, verdict))}\n`);
    }
    if (bad > 0) process.exitCode = EXIT.usage;
    return;
  }

  // `echo SQL |` adds a newline that is not part of the statement.
  const { facts, verdict } = judge((await readStdin()).trimEnd());
  if (opts.json) process.stdout.write(`${JSON.stringify(checkResultToJson(facts, verdict))}\n`);
  else process.stdout.write(`${formatHuman(facts, verdict, ruleSet)}\n`);
}

export function register(program: Command): void {
  program
    .command('check')
    .description('read SQL from stdin and print what pgwarden sees (facts) and what the rules decide, without connecting anywhere')
    .addOption(new Option('--rules <path>', 'rule file or folder (default: the shipped rules/default.yaml)').env('PGWARDEN_RULES'))
    .addOption(new Option('--json', 'print one JSON object: categories, statements (facts), verdict').conflicts('jsonl'))
    .addOption(new Option('--jsonl', 'batch: each input line is a JSON string holding one SQL text; one JSON object per line out'))
    .option('--user <name>', 'actor: Postgres user name', 'agent')
    .option('--application <name>', 'actor: application_name', '')
    .option('--address <ip>', 'actor: client IP address', parseAddress, '127.0.0.1')
    .option('--database <name>', 'database the statement runs in', 'postgres')
    .option('--at <time>', 'evaluate time windows at this ISO 8601 time (default: now)', parseTime)
    .option('--max-rows <n>', 'a LIMIT above this is an export (config limits.max_rows)', parsePositiveInt, 10_000)
    .addHelpText(
      'after',
      `
Examples:
  echo "SELECT * FROM users LIMIT 10" | pgwarden check
  echo "COPY users TO PROGRAM 'curl …'" | pgwarden check --rules ./rules --json
  pgwarden check --user agent_7 --application claude --address 10.1.2.3 < migration.sql
  jq -R . queries.sql | pgwarden check --jsonl --rules ./rules > verdicts.jsonl   # one SQL text per line

Exit codes: 0 checked (whatever the verdict), 2 invalid rules or usage.`,
    )
    .action(async (opts: CheckOptions) => {
      await run(opts);
    });
}
