// `pgwarden passwd NAME`: reads a password (prompted twice without echo on a terminal, else the first line of stdin)
// and prints its SCRAM-SHA-256 verifier for identities.NAME.scram. The password is never stored or printed.
import type { Command } from 'commander';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { DEFAULT_ITERATIONS, formatVerifier, makeVerifier } from '../proxy/auth/scram.js';

/** Same codes as cli.ts EXIT (not imported: cli.ts runs the program when loaded). */
const EXIT = { ok: 0, usage: 2 } as const;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
}

/** Asks on the terminal with echo off. */
function prompt(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
    muted = true;
  });
}

function yamlQuoted(text: string): string {
  return JSON.stringify(text);
}

export function register(program: Command): void {
  program
    .command('passwd')
    .description('print a SCRAM-SHA-256 verifier for an agent identity (for identities.NAME.scram); the password is never stored')
    .argument('<name>', 'the identity the agent connects as (its Postgres user name)')
    .option('--iterations <n>', `PBKDF2 iterations (default ${DEFAULT_ITERATIONS}, as PostgreSQL; more costs clients, not pgwarden)`, String(DEFAULT_ITERATIONS))
    .option('--yaml', 'print a config snippet (identities: NAME: scram: …) instead of the bare verifier')
    .addHelpText(
      'after',
      `
Examples:
  $ pgwarden passwd agent-7                          # asks twice on a terminal
  $ printf '%s' "$AGENT7_PASSWORD" | pgwarden passwd agent-7 --yaml >> pgwarden.yaml

The password is read from the terminal (no echo) or, when stdin is not a terminal, from its first line.
The output is a verifier in PostgreSQL's own format (as in pg_authid): SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>.
It lets pgwarden check the password, not recover it; keep it out of public places all the same.`,
    )
    .action(async (name: string, opts: { iterations: string; yaml?: boolean }) => {
      const iterations = Number(opts.iterations);
      if (!Number.isSafeInteger(iterations) || iterations < 4096 || iterations > 10_000_000) {
        process.stderr.write(`pgwarden: --iterations must be a whole number from 4096 to 10000000, got '${opts.iterations}'\n`);
        process.exitCode = EXIT.usage;
        return;
      }
      if (name.trim() === '' || /[\u0000-\u001f]/.test(name)) {
        process.stderr.write('pgwarden: NAME must be a non-empty identity name without control characters\n');
        process.exitCode = EXIT.usage;
        return;
      }
      let password: string;
      if (process.stdin.isTTY) {
        password = await prompt(`Password for ${name}: `);
        const again = await prompt('Again: ');
        if (again !== password) {
          process.stderr.write('pgwarden: the two passwords differ; nothing printed\n');
          process.exitCode = EXIT.usage;
          return;
        }
      } else {
        password = await readStdin();
      }
      if (password === '') {
        process.stderr.write('pgwarden: empty password; nothing printed\n');
        process.exitCode = EXIT.usage;
        return;
      }
      const verifier = formatVerifier(await makeVerifier(password, iterations));
      if (opts.yaml) process.stdout.write(`identities:\n  ${yamlQuoted(name)}:\n    scram: ${yamlQuoted(verifier)}\n`);
      else process.stdout.write(`${verifier}\n`);
    });
}
