// The settings a StartupMessage asks the server to apply, read exactly as PostgreSQL 15 reads them, so that each can be
// judged like the equivalent SET statement before the connection is opened upstream (issue 11, finding 8).
// Sources: every parameter other than user/database/options/replication is a GUC setting (ProcessStartupPacket);
// `options` is split by pg_split_opts (whitespace, backslash escapes) and read by process_postgres_switches
// (getopt "B:bc:C:D:d:EeFf:h:ijk:lN:nOPp:r:S:sTt:v:W:-:", then -c name=value and --name=value with '-' → '_').

export interface StartupSetting {
  /** GUC name as the server will look it up (case-insensitive there; lowercased here). */
  readonly name: string;
  readonly value: string;
  /** Where the client put it: a plain startup parameter, or the switch inside `options` that implies it. */
  readonly source: string;
}

export type StartupSettings = { readonly ok: true; readonly settings: readonly StartupSetting[] } | { readonly ok: false; readonly reason: string };

/** Parameters the server reads itself rather than as settings. */
const NOT_SETTINGS = new Set(['user', 'database', 'options', 'replication']);

/** pg_split_opts: split at unescaped whitespace; a backslash takes the next character literally. */
export function splitOptions(options: string): string[] {
  const out: string[] = [];
  const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
  let i = 0;
  while (i < options.length) {
    while (i < options.length && isSpace(options[i]!)) i++;
    if (i >= options.length) break;
    let arg = '';
    let escaped = false;
    for (; i < options.length; i++) {
      const c = options[i]!;
      if (isSpace(c) && !escaped) break;
      if (!escaped && c === '\\') escaped = true;
      else {
        escaped = false;
        arg += c;
      }
    }
    out.push(arg);
  }
  return out;
}

/** Switches that set GUCs for a client backend, with the settings they imply (postgres.c process_postgres_switches). */
const FLAG_SETTINGS: Readonly<Record<string, readonly (readonly [string, string])[]>> = {
  e: [['datestyle', 'euro']],
  F: [['fsync', 'off']],
  i: [['listen_addresses', '*']],
  l: [['ssl', 'on']],
  O: [['allow_system_table_mods', 'on']],
  P: [['ignore_system_indexes', 'on']],
  s: [['log_statement_stats', 'on']],
};
const ARG_SETTINGS: Readonly<Record<string, string>> = { B: 'shared_buffers', h: 'listen_addresses', k: 'unix_socket_directories', N: 'max_connections', p: 'port', S: 'work_mem', W: 'post_auth_delay' };
const PLAN_DISABLING: Readonly<Record<string, string>> = { s: 'enable_seqscan', i: 'enable_indexscan', o: 'enable_indexonlyscan', b: 'enable_bitmapscan', t: 'enable_tidscan', n: 'enable_nestloop', m: 'enable_mergejoin', h: 'enable_hashjoin' };
const STATS: Readonly<Record<string, string>> = { pa: 'log_parser_stats', pl: 'log_planner_stats', ex: 'log_executor_stats' };
/** Switches getopt accepts with an argument that only the postmaster or a standalone backend honours: refused. */
const TAKES_ARGUMENT = new Set(['B', 'c', 'C', 'D', 'd', 'f', 'h', 'k', 'N', 'p', 'r', 'S', 't', 'v', 'W', '-']);

/** ParseLongOption: `name=value`, with '-' in the name read as '_'. */
function longOption(arg: string, source: string): StartupSetting | string {
  const eq = arg.indexOf('=');
  if (eq < 0) return `${source} ${arg} has no value`;
  return { name: arg.slice(0, eq).replace(/-/g, '_').toLowerCase(), value: arg.slice(eq + 1), source };
}

function debugSettings(level: number): [string, string][] {
  const out: [string, string][] = [['log_min_messages', level > 0 ? `debug${level}` : 'notice']];
  if (level >= 2) out.push(['log_statement', 'all']);
  if (level >= 3) out.push(['debug_print_parse', 'on']);
  if (level >= 4) out.push(['debug_print_plan', 'on']);
  if (level >= 5) out.push(['debug_print_rewritten', 'on']);
  return out;
}

/** The settings in an `options` value, or why pgwarden refuses to guess how the server reads it. */
export function optionSettings(options: string): StartupSettings {
  const args = splitOptions(options);
  const settings: StartupSetting[] = [];
  for (let k = 0; k < args.length; k++) {
    const arg = args[k]!;
    const source = `options ${JSON.stringify(arg)}`;
    if (arg === '--' || !arg.startsWith('-') || arg === '-') {
      return { ok: false, reason: `options argument ${JSON.stringify(arg)} is not a switch (the server refuses extra arguments)` };
    }
    for (let j = 1; j < arg.length; j++) {
      const flag = arg[j]!;
      let value: string | undefined;
      if (TAKES_ARGUMENT.has(flag)) {
        value = j + 1 < arg.length ? arg.slice(j + 1) : args[++k];
        if (value === undefined) return { ok: false, reason: `options switch -${flag} has no argument` };
        j = arg.length;
      }
      const implied = FLAG_SETTINGS[flag];
      if (implied) {
        for (const [name, v] of implied) settings.push({ name, value: v, source });
      } else if (flag === 'c' || flag === '-') {
        const s = longOption(value!, flag === 'c' ? 'options -c' : 'options --');
        if (typeof s === 'string') return { ok: false, reason: s };
        settings.push(s);
      } else if (ARG_SETTINGS[flag]) {
        settings.push({ name: ARG_SETTINGS[flag]!, value: value!, source });
      } else if (flag === 'd') {
        const level = Number(value);
        if (!Number.isInteger(level)) return { ok: false, reason: `options switch -d needs a number, got ${JSON.stringify(value)}` };
        for (const [name, v] of debugSettings(level)) settings.push({ name, value: v, source });
      } else if (flag === 'f' && PLAN_DISABLING[value!]) {
        settings.push({ name: PLAN_DISABLING[value!]!, value: 'off', source });
      } else if (flag === 't' && STATS[value!]) {
        settings.push({ name: STATS[value!]!, value: 'on', source });
      } else {
        // -b, -C, -D, -E, -j, -n, -r, -T, -v, and anything getopt does not know: the server ignores them for a client
        // backend or refuses them; pgwarden refuses them rather than rely on either.
        return { ok: false, reason: `options switch -${flag}${value !== undefined ? ` ${value}` : ''} is not accepted through pgwarden` };
      }
    }
  }
  return { ok: true, settings };
}

/** Every setting a StartupMessage carries, in the order the server applies them (options first, then parameters). */
export function startupSettings(params: ReadonlyMap<string, string>): StartupSettings {
  const out: StartupSetting[] = [];
  const options = params.get('options');
  if (options !== undefined) {
    const read = optionSettings(options);
    if (!read.ok) return read;
    out.push(...read.settings);
  }
  for (const [key, value] of params) {
    if (NOT_SETTINGS.has(key) || key.startsWith('_pq_.')) continue;
    out.push({ name: key.toLowerCase(), value, source: `startup parameter ${key}` });
  }
  return { ok: true, settings: out };
}

function quoteIdent(part: string): string {
  return `"${part.replace(/"/g, '""')}"`;
}

/** The SET statement a setting is judged as: `SET "name" TO 'value'` (a dotted name becomes a qualified one). */
export function settingStatement(s: StartupSetting): string {
  const name = s.name.split('.').map(quoteIdent).join('.');
  return `SET ${name} TO '${s.value.replace(/'/g, "''")}'`;
}
