#!/usr/bin/env node
// bin `pgwarden`: registers the commands (one file each in commands/) and maps failures to exit codes. No logic here.
// First: V8 flags must be set before any WebAssembly is compiled (see v8-flags.ts).
import './v8-flags.js';
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PACKAGE_ROOT } from './config.js';
import { ConfigError, RuleFileError } from './errors.js';
import { register as registerServe } from './commands/serve.js';
import { register as registerCheck } from './commands/check.js';
import { register as registerRules } from './commands/rules.js';
import { register as registerApprovals } from './commands/approvals.js';
import { register as registerAudit } from './commands/audit.js';
import { register as registerDemo } from './commands/demo.js';
import { register as registerPasswd } from './commands/passwd.js';

/** Exit codes: 0 ok, 1 the command's check failed (e.g. audit chain broken, rules test failed), 2 bad usage/config/rules, 3 a service could not be reached. */
export const EXIT = { ok: 0, failed: 1, usage: 2, unavailable: 3 } as const;

const version = (JSON.parse(readFileSync(resolve(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const program = new Command('pgwarden')
  .description('A PostgreSQL wire-protocol firewall for AI agents: policy as code, human approvals, tamper-evident audit.')
  .version(version, '-V, --version')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

program.addHelpText(
  'after',
  `
Examples:
  $ pgwarden demo                                              # a working firewall with an embedded database, no setup
  $ pgwarden serve --upstream postgres://db:5432 --rules ./rules   # protect a real database; agents connect to 127.0.0.1:7432
  $ echo "DROP TABLE users" | pgwarden check --rules ./rules    # what would happen, without connecting anywhere
  $ pgwarden rules test ./rules                                # run the policy's fixtures (exit 1 when one fails)
  $ pgwarden approvals list --token "$PGWARDEN_TOKEN"          # decide from a terminal: list, approve ID, deny ID
  $ pgwarden audit verify audit.jsonl                          # exit 0 only when the hash chain is intact

Run it inside a clone of the repository after \`npm ci\` (as \`npx pgwarden …\`): pgwarden is not on the npm registry.
Exit codes: 0 success; 1 the command ran but its check failed or the decision was refused (a failing rules test,
a broken audit chain, an approval refused with 403/404/409); 2 bad usage, config or rules; 3 a service could not be
reached. \`pgwarden <command> --help\` shows each command's flags and examples.`,
);

registerServe(program);
registerCheck(program);
registerRules(program);
registerApprovals(program);
registerAudit(program);
registerDemo(program);
registerPasswd(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : EXIT.usage);
  if (err instanceof ConfigError || err instanceof RuleFileError) {
    process.stderr.write(`pgwarden: ${err.message}\n`);
    process.exit(EXIT.usage);
  }
  throw err;
}
