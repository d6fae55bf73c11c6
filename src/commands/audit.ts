// `pgwarden audit verify FILE…`: checks audit files as one hash chain; exit 0 intact, 1 broken (first broken record), 2 usage or unreadable file.
import type { Command } from 'commander';
import { AuditReadError, verifyAuditFiles } from '../audit/verify.js';

/** Same codes as cli.ts EXIT (not imported: cli.ts runs the program when loaded). */
const EXIT = { ok: 0, broken: 1, usage: 2 } as const;

export function register(program: Command): void {
  const audit = program.command('audit').description('work with the tamper-evident audit log');

  audit
    .command('verify')
    .description('check that audit files form one intact hash chain (files in order, oldest first)')
    .argument('<files...>', 'audit JSON-lines files, oldest first (rotated files before the current one)')
    .option('--anchor <hash>', 'a record hash noted earlier (last_hash of a previous verify, the Postgres table): fail if the chain does not contain it, which catches records deleted from the end')
    .option('--json', 'print the result as one JSON object')
    .addHelpText(
      'after',
      `
Examples:
  pgwarden audit verify /var/log/pgwarden/audit.jsonl
  pgwarden audit verify audit.jsonl.3 audit.jsonl.2 audit.jsonl.1 audit.jsonl   # a rotated month, oldest first
  pgwarden audit verify $(ls -v audit-2026-05-*.jsonl)
  pgwarden audit verify audit.jsonl --anchor 9f2c…e1   # last_hash printed by last week's verify

Checks every record's SHA-256, that each record's prev is the previous record's hash and that seq
counts up by one, across files in the order given. Detects edited, deleted, inserted, reordered and
truncated records. Records deleted from the very end leave a shorter valid chain: keep the printed
last hash and pass it as --anchor next time. When the first file continues an earlier one (seq > 1),
the records before it are not checked; the output says where the checked chain starts.

Exit codes: 0 intact, 1 broken (prints FILE:LINE, seq and reason of the first broken record),
            2 usage error or a file that cannot be read.`,
    )
    .action(async (files: string[], opts: { anchor?: string; json?: boolean }) => {
      if (opts.anchor !== undefined && !/^[0-9a-fA-F]{64}$/.test(opts.anchor)) {
        process.stderr.write(`pgwarden: --anchor must be a 64-character hex SHA-256 (a record's "hash"), got '${opts.anchor}'\n`);
        process.exitCode = EXIT.usage;
        return;
      }
      let result;
      try {
        result = await verifyAuditFiles(files, opts.anchor === undefined ? {} : { anchor: opts.anchor });
      } catch (err) {
        if (err instanceof AuditReadError) {
          process.stderr.write(`pgwarden: ${err.message}; check the path and permissions\n`);
          process.exitCode = EXIT.usage;
          return;
        }
        throw err;
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
      } else if (result.ok) {
        const span = result.first_seq === undefined ? '' : ` (seq ${result.first_seq}–${result.last_seq})`;
        process.stdout.write(`ok: ${result.records} records verified in ${files.length} file${files.length === 1 ? '' : 's'}${span}\n`);
        if (result.last_hash) process.stdout.write(`last hash: ${result.last_hash}  (use as --anchor next time)\n`);
        for (const t of result.torn_tails ?? []) {
          process.stdout.write(
            `note: seq ${t.seq} records a torn last line set aside at start (${t.fragment_bytes} bytes, sha256 ${t.fragment_sha256}${t.side_file ? `, kept in ${t.side_file}` : ', not saved'}): a record was cut short by a crash or a full disk\n`,
          );
        }
        if (result.records_lost) process.stdout.write(`note: ${result.records_lost} record(s) were lost while the audit file failed (see the records_lost records)\n`);
        if (result.first_seq !== undefined && result.first_seq > 1) {
          process.stdout.write(`note: the chain starts at seq ${result.first_seq}; it continues an earlier file that was not given\n`);
        }
      } else {
        const where = result.line > 0 ? `${result.file}:${result.line}` : result.file;
        process.stdout.write(`broken: ${where}: ${result.seq === undefined ? '' : `seq ${result.seq}: `}${result.reason}\n`);
      }
      process.exitCode = result.ok ? EXIT.ok : EXIT.broken;
    });
}
