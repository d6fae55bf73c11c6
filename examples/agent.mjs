#!/usr/bin/env node
// An example "AI agent" talking to PostgreSQL through pgwarden: a scripted sequence of SQL tool calls, printed as an
// agent transcript, including an export that waits for a human's approval and a refused statement the agent recovers
// from by reading the error's message and hint. No LLM involved: the decisions an LLM would make are written out, so
// you can see exactly what an agent experiences. Run it against `pgwarden demo`:
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:7432/postgres node examples/agent.mjs
//
// Needs Node 22+ and the `pg` package (installed with pgwarden's dev dependencies; elsewhere: npm install pg).
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { styleText } from 'node:util';
import pg from 'pg';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:7432/postgres';
const OUT_FILE = process.env.AGENT_OUT ?? join(tmpdir(), 'churned_customers.csv');
const CUTOFF = '2025-06-01';

// ── transcript printing ─────────────────────────────────────────────────────────────────────────────────────────
const c = (style, text) => styleText(style, text);
const say = {
  task: (t) => console.log(`\n${c('bold', 'user  ›')} ${t}`),
  think: (t) => console.log(`\n${c(['bold', 'magenta'], 'agent ›')} ${t}`),
  call: (sql) => console.log(`${c('cyan', '  tool › query_database')}\n${sql.replace(/^/gm, c('dim', '    │ '))}`),
  ok: (t) => console.log(`${c('green', '  ok   ›')} ${t}`),
  notice: (t) => console.log(`${c('yellow', '  wait ›')} ${t}`),
  error: (e) => {
    console.log(`${c('red', '  err  ›')} ${e.code ?? ''} ${e.message}`);
    if (e.hint) console.log(`${c('red', '  hint ›')} ${e.hint}`);
  },
  answer: (t) => console.log(`\n${c(['bold', 'green'], 'agent ›')} ${t}\n`),
};

// ── the one tool the agent has ──────────────────────────────────────────────────────────────────────────────────
/** node-postgres ignores COPY … TO STDOUT data unless a query collects it; this one keeps the chunks. */
class CopyOutQuery extends pg.Query {
  constructor(text) {
    super(text);
    this.chunks = [];
  }
  handleCopyData(msg) {
    this.chunks.push(msg.chunk);
  }
}

const client = new pg.Client({ connectionString: DATABASE_URL, application_name: 'example-agent' });
// pgwarden talks to a held client with NOTICEs: "waiting for approval … approve at URL", then progress every few seconds.
client.on('notice', (n) => say.notice(n.message));

/** Runs one SQL tool call. Returns { rows } or { copied } on success, { error } when the database (or pgwarden) refuses. */
async function queryDatabase(sql) {
  say.call(sql);
  try {
    if (/^\s*(\/\*.*?\*\/\s*)?COPY\b[\s\S]*\bTO\s+STDOUT\b/i.test(sql)) {
      const q = client.query(new CopyOutQuery(sql));
      await new Promise((resolve, reject) => {
        q.on('end', resolve);
        q.on('error', reject);
      });
      const text = Buffer.concat(q.chunks).toString('utf8');
      say.ok(`received ${text.split('\n').filter(Boolean).length} CSV lines`);
      return { copied: text };
    }
    const result = await client.query(sql);
    say.ok(`${result.rowCount ?? result.rows.length} row(s)`);
    return { rows: result.rows };
  } catch (error) {
    say.error(error);
    return { error };
  }
}

const table = (rows) => rows.map((r) => `      ${Object.values(r).join('  ')}`).join('\n');

// ── the "agent" ─────────────────────────────────────────────────────────────────────────────────────────────────
async function main() {
  await client.connect();
  say.task(`Which customers have not ordered since ${CUTOFF}? Break them down by country and give the retention team a CSV.`);

  say.think('First I look at which tables exist.');
  const tables = await queryDatabase("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1");
  if (tables.error) return fail('I cannot even list the tables; stopping.');
  console.log(table(tables.rows));

  say.think('customers and orders look right. How many lapsed customers per country?');
  const lapsed = `NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.ordered_at >= DATE '${CUTOFF}')`;
  const byCountry = await queryDatabase(`SELECT c.country, count(*) AS lapsed\nFROM customers c\nWHERE ${lapsed}\nGROUP BY c.country ORDER BY lapsed DESC LIMIT 20`);
  if (byCountry.error) return fail('The summary query failed; stopping.');
  console.log(table(byCountry.rows));

  say.think('Now the CSV. The quickest way is to have the server write the file directly.');
  let attempt = await queryDatabase(`COPY (SELECT c.* FROM customers c WHERE ${lapsed})\n  TO '/tmp/churned_customers.csv' WITH (FORMAT csv, HEADER)`);

  if (attempt.error?.code === '42501' && /rule "privileged"/.test(attempt.error.message)) {
    // What an LLM does with this: the message says server files are not allowed, the hint says to narrow the
    // statement (named columns). So: stream the rows to myself instead, with only the columns the team needs
    // (no SSN or date of birth), and say why, so the approver can decide quickly.
    say.think(
      'Refused: writing server files is not allowed (42501, rule "privileged"). The hint says to narrow the statement.\n' +
        '        I will stream the rows to myself instead, with only the columns the retention team needs (no ssn,\n' +
        '        no date_of_birth), and state the reason so the approver can decide quickly.',
    );
    attempt = await queryDatabase(
      `/* reason: retention team churn list, contact columns only */\nCOPY (SELECT c.id, c.full_name, c.email, c.country FROM customers c WHERE ${lapsed} ORDER BY c.id)\n  TO STDOUT WITH (FORMAT csv, HEADER)`,
    );
  }

  if (attempt.copied !== undefined) {
    writeFileSync(OUT_FILE, attempt.copied);
    const lines = attempt.copied.split('\n').filter(Boolean);
    console.log(lines.slice(0, 4).map((l) => `      ${l}`).join('\n') + (lines.length > 4 ? `\n      … ${lines.length - 4} more` : ''));
    const total = byCountry.rows.reduce((n, r) => n + Number(r.lapsed), 0);
    say.answer(`${total} customers have not ordered since ${CUTOFF} (top: ${byCountry.rows.slice(0, 3).map((r) => `${r.country} ${r.lapsed}`).join(', ')}).\n        The contact list (id, name, email, country; no SSN or birth date) is in ${OUT_FILE}.`);
    return 0;
  }
  if (attempt.error?.code === '42501') {
    say.answer(`A human declined the export (${attempt.error.message.replace(/^pgwarden: /, '')}).\n        I can share the per-country counts above, but not the customer list.`);
    return 0;
  }
  if (attempt.error?.code === '57014') {
    say.answer('Nobody approved the export in time. The per-country counts are above; ask an approver and I will try again.');
    return 0;
  }
  return fail('The export failed for a reason I do not understand; stopping.');
}

/** The URL without its password, for messages. */
function shown(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}

function fail(text) {
  say.answer(text);
  return 1;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(`\nagent crashed: ${err.message}${err.code === 'ECONNREFUSED' ? `\nIs pgwarden running? Start it with: npx pgwarden demo   (DATABASE_URL=${shown(DATABASE_URL)})` : ''}`);
} finally {
  await client.end().catch(() => {});
}
process.exit(code);
