// `pgwarden rules suggest --audit FILE…`: rules (with fixtures) proposed from repeated human decisions on one statement
// shape, each with a replay summary. Prints only: a human adopts a suggestion by committing it.
import { styleText } from 'node:util';
import { Command, Option } from 'commander';
import { suggestFromAuditFiles, type SuggestionsResult } from '../audit/learn.js';
import { AuditReadError } from '../audit/verify.js';
import { DEFAULT_RULES } from '../config.js';
import { loadRules } from '../policy/load.js';
import { DEFAULT_MIN_DECISIONS } from '../policy/rule-suggestions.js';
import { n, parseCount, parseSince, parseUntil } from './learn-options.js';

/** Same codes as cli.ts EXIT (not imported: cli.ts runs the program when loaded). */
const EXIT = { ok: 0, usage: 2 } as const;

interface SuggestOptions {
  audit: string[];
  rules: string;
  minDecisions: number;
  since?: Date;
  until?: Date;
  json?: boolean;
  maxRows: number;
}

const indent = (text: string, by = '  '): string => text.replace(/^(?=.)/gm, by);

export function formatSuggestions(r: SuggestionsResult): string {
  const out: string[] = [];
  out.push(
    `${styleText('bold', `${r.suggestions.length} suggestion(s)`)} from ${n(r.decisions)} human decision(s) in ${r.files.length} file(s)${r.since ? ` since ${r.since.slice(0, 10)}` : ''} (at least ${r.min_decisions} same-way decisions on one shape; ${n(r.mixed)} shape(s) with both approvals and denials left alone).`,
    styleText('dim', 'Nothing was changed: adopt a suggestion by adding the rule to your rules and the fixtures to tests/, and committing them.'),
  );
  for (const s of r.suggestions) {
    const who = Object.entries(s.approvers).map(([k, v]) => `${k} ×${v}`).join(', ');
    const decisions = s.action === 'allow' ? `approved ${n(s.approved)} time(s) by ${who}, never denied,` : `denied ${n(s.denied)} time(s) by ${who}, never approved,`;
    const colour = s.action === 'allow' ? 'green' : 'red';
    out.push('', styleText(['bold', colour], `── ${s.action}: ${s.id}`));
    out.push(`   ${s.user}${s.application ? ` (${s.application})` : ''} in ${s.database}: ${s.normalized}`);
    out.push(`   ${decisions} between ${s.first_seen.slice(0, 10)} and ${s.last_seen.slice(0, 10)}; held by rule ${s.held_by.join(', ')}${s.granted ? `; ran ${n(s.granted)} more time(s) under an approval grant` : ''}`);
    const rp = s.replay;
    const transitions = Object.entries(rp.transitions).map(([k, v]) => `${k} ${n(v)}`).join(', ') || 'no change';
    const warn = rp.other_changes > 0 || Object.keys(rp.fail_on).length > 0;
    out.push(`   replay: ${n(rp.statements)} statement(s) of this shape re-judged; ${transitions}; ${n(rp.approvals_saved)} approval(s) saved${rp.other_changes ? `; ${styleText('yellow', `${n(rp.other_changes)} other change(s)`)}` : ''}${Object.keys(rp.fail_on).length ? `; ${styleText('yellow', Object.entries(rp.fail_on).map(([k, v]) => `${k} ${v}`).join(', '))}` : ''}`);
    if (warn) out.push(styleText('yellow', '   check before adopting: the replay found changes beyond the decisions this suggestion comes from'));
    const place = s.place_before ? `above rule '${s.place_before.rule}' (${s.place_before.file}:${s.place_before.line}) — the first matching rule decides` : 'above the rules that decide this shape today';
    out.push(`   ${styleText('dim', `# the rule: add under rules:, ${place}`)}`);
    out.push(indent(s.rule_yaml.trimEnd(), '   '));
    out.push(`   ${styleText('dim', `# the fixtures: save as tests/${s.id}.test.yaml next to the rules, then run pgwarden rules test`)}`);
    out.push(indent(s.fixtures_yaml.trimEnd(), '   '));
  }
  return `${out.join('\n')}\n`;
}

async function run(opts: SuggestOptions): Promise<void> {
  const ruleSet = loadRules(opts.rules);
  for (const w of ruleSet.warnings) process.stderr.write(`pgwarden: warning: ${w}\n`);
  let result: SuggestionsResult;
  try {
    result = await suggestFromAuditFiles({ files: opts.audit, ruleSet, maxRows: opts.maxRows, minDecisions: opts.minDecisions, ...(opts.since ? { since: opts.since } : {}), ...(opts.until ? { until: opts.until } : {}) });
  } catch (err) {
    if (err instanceof AuditReadError) {
      process.stderr.write(`pgwarden: ${err.message}; check the path and permissions\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    throw err;
  }
  process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : formatSuggestions(result));
  process.exitCode = EXIT.ok;
}

export function registerSuggest(rules: Command): void {
  rules
    .command('suggest')
    .description('propose rules (with fixtures) from repeated approver decisions on one statement shape; changes nothing')
    .requiredOption('--audit <files...>', 'audit JSON-lines files (.gz too)')
    .addOption(new Option('--rules <path>', 'the rules in force: suggestions are for shapes they still hold (default: the shipped rules/default.yaml)').env('PGWARDEN_RULES').default(DEFAULT_RULES, 'rules/default.yaml'))
    .option('--min-decisions <n>', 'same-way decisions on one shape (fingerprint × user × database) before a rule is suggested', parseCount(1), DEFAULT_MIN_DECISIONS)
    .option('--since <when>', 'only decisions from this time: a duration back from now (7d) or ISO 8601', (v) => parseSince(v))
    .option('--until <time>', 'only decisions before this ISO 8601 time', parseUntil)
    .option('--json', 'print one JSON object')
    .option('--max-rows <n>', 'limits.max_rows of the instance that wrote the log', parseCount(1), 10_000)
    .addHelpText(
      'after',
      `
A shape approvers approved at least N times and never denied gives an allow rule scoped to its fingerprints, user,
database (and application when all decisions share one), its statement kinds and tables, and no category the
approvers never saw. A shape denied at least N times and never approved gives a deny rule whose message is the
approvers' most common reason. Each comes with fixtures built from the real statements and a replay of the log
with the rule added.

Examples:
  pgwarden rules suggest --audit /var/log/pgwarden/audit.jsonl --rules ./rules --since 7d
  pgwarden rules suggest --audit audit.jsonl --rules ./rules --min-decisions 5 --json

Exit codes: 0 done (with or without suggestions), 2 invalid rules, usage, or an audit file that cannot be read.`,
    )
    .action(async (opts: SuggestOptions) => {
      await run(opts);
    });
}
