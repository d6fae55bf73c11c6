// The README's configuration reference is checked against the code so it cannot drift: every config key,
// every flag's env var and every extra env var must be documented.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { configSchema, EXTRA_ENV, FLAG_ENV, loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

const README = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');

/** Dotted paths of every leaf key of a zod object schema (unwrapping defaults, optionals and nullables). */
function keys(schema: z.ZodType, prefix = ''): string[] {
  let s: z.ZodType = schema;
  for (;;) {
    const def = (s as unknown as { def: { type: string; innerType?: z.ZodType; in?: z.ZodType } }).def;
    if (def.type === 'default' || def.type === 'optional' || def.type === 'nullable' || def.type === 'prefault') s = def.innerType!;
    else if (def.type === 'pipe') s = def.in!;
    else break;
  }
  if (s instanceof z.ZodObject && prefix.split('.').length < 2) {
    return Object.entries(s.shape).flatMap(([k, v]) => keys(v as z.ZodType, prefix ? `${prefix}.${k}` : k));
  }
  return [prefix];
}

describe('configuration reference', () => {
  it('documents every config key in README.md', () => {
    expect(keys(configSchema)).toEqual(expect.arrayContaining(['listen', 'limits.max_rows', 'teams.cloud', 'audit.postgres']));
    const missing = keys(configSchema).filter((k) => !README.includes(`\`${k}\``) && !README.includes(`${k.split('.').slice(0, -1).join('.')}.${k.split('.').pop()}`));
    expect(missing).toEqual([]);
  });

  it('documents every environment variable in README.md', () => {
    const names = [...Object.values(FLAG_ENV), ...Object.keys(EXTRA_ENV)];
    expect(names.filter((n) => !README.includes(n))).toEqual([]);
  });

  it('flags beat env, env beats the file; a bad value names the key, the value and what is expected', () => {
    const cfg = loadConfig({ listen: '127.0.0.1:1111' }, { PGWARDEN_LISTEN: '127.0.0.1:2222', PGWARDEN_HTTP: '127.0.0.1:3333' });
    expect(cfg.listen).toBe('127.0.0.1:1111');
    expect(cfg.http).toBe('127.0.0.1:3333');
    expect(() => loadConfig({ listen: 'nowhere' }, {})).toThrow(ConfigError);
    expect(() => loadConfig({ listen: 'nowhere' }, {})).toThrow(/listen: expected HOST:PORT.*\(got "nowhere"\)/);
    expect(() => loadConfig({}, {}, { 'limits.startup_timeout': 'soon' })).toThrow(/limits\.startup_timeout: 'soon' is not a duration/);
  });

  it('never shows a secret in a config error', () => {
    try {
      loadConfig({}, { PGWARDEN_API_TOKENS: 'alice=very-secret-token' }, { 'teams.app_password': 42 });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(String(err)).not.toContain('very-secret-token');
      expect(String(err)).toContain('teams.app_password');
    }
  });
});
