// Reading StartupMessage settings as PostgreSQL does (pg_split_opts, process_postgres_switches).
import { describe, expect, it } from 'vitest';
import { optionSettings, settingStatement, splitOptions, startupSettings } from '../../../src/proxy/startup-settings.js';

const names = (options: string) => {
  const r = optionSettings(options);
  if (!r.ok) throw new Error(r.reason);
  return r.settings.map((s) => `${s.name}=${s.value}`);
};

describe('splitOptions (pg_split_opts)', () => {
  it('splits on unescaped whitespace and unescapes backslashes', () => {
    expect(splitOptions('  -c a=b\t-c  c=d\\ e  ')).toEqual(['-c', 'a=b', '-c', 'c=d e']);
    expect(splitOptions('-c x=a\\\\b -c y=\\')).toEqual(['-c', 'x=a\\b', '-c', 'y=']);
    expect(splitOptions('')).toEqual([]);
  });
});

describe('optionSettings (process_postgres_switches)', () => {
  it('reads -c and --name=value, attached or not, with dashes in names as underscores and names lowercased', () => {
    expect(names('-c role=x -crole=y --role=z --session-replication-role=replica -c ROLE=w')).toEqual([
      'role=x', 'role=y', 'role=z', 'session_replication_role=replica', 'role=w',
    ]);
  });

  it('maps the switches that set settings, clustered or not', () => {
    expect(names('-Os -e')).toEqual(['allow_system_table_mods=on', 'log_statement_stats=on', 'datestyle=euro']);
    expect(names('-d 2 -fs -t pa -S 64MB')).toEqual(['log_min_messages=debug2', 'log_statement=all', 'enable_seqscan=off', 'log_parser_stats=on', 'work_mem=64MB']);
  });

  it('refuses what it cannot read the way the server does', () => {
    for (const bad of ['-D /data', 'foo', '-c', '-c role', '--role', '-- -c role=x', '-f q', '-t zz', '-d x', '-b', '-v 3']) {
      expect(optionSettings(bad).ok, bad).toBe(false);
    }
  });
});

describe('startupSettings', () => {
  it('options first, then every parameter except user, database, options, replication and _pq_.*', () => {
    const r = startupSettings(new Map([['user', 'u'], ['database', 'd'], ['options', '-c a=1'], ['application_name', 'psql'], ['Role', 'x'], ['_pq_.opt', 'y']]));
    expect(r.ok && r.settings.map((s) => [s.name, s.value, s.source])).toEqual([
      ['a', '1', 'options -c'],
      ['application_name', 'psql', 'startup parameter application_name'],
      ['role', 'x', 'startup parameter Role'],
    ]);
  });
});

describe('settingStatement', () => {
  it('quotes names and values', () => {
    expect(settingStatement({ name: 'pgw.x"y', value: "it's", source: '' })).toBe(`SET "pgw"."x""y" TO 'it''s'`);
  });
});
