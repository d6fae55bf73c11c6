// Dependencies point one way (DESIGN.md module map): each src/ folder may import only the modules listed here.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
const LEAVES = ['errors', 'units', 'metrics', 'log'];

/** module → modules it may import (a module is a folder of src/ or a top-level file without .ts). */
const ALLOWED: Record<string, readonly string[]> = {
  errors: [],
  units: [],
  metrics: [],
  log: ['units'],
  config: ['errors', 'units'],
  sql: ['errors', 'units'],
  policy: ['sql', ...LEAVES],
  audit: ['sql', 'policy', 'config', ...LEAVES],
  approvals: ['sql', 'policy', 'audit', 'config', ...LEAVES],
  http: ['approvals', 'config', ...LEAVES],
  proxy: ['sql', 'policy', 'approvals', 'audit', ...LEAVES],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function moduleOf(path: string): string {
  return relative(SRC, path).split(sep)[0]!.replace(/\.ts$/, '');
}

describe('module dependencies', () => {
  it('every import stays within the allowed direction', () => {
    const violations: string[] = [];
    for (const file of files(SRC)) {
      const from = moduleOf(file);
      const allowed = ALLOWED[from];
      if (!allowed) continue; // app.ts, cli.ts, commands/, demo/ compose everything
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^(?:import|export)[^'"]*from\s+'(\.[^']+)'/gm)) {
        const target = moduleOf(resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
        if (target !== from && !allowed.includes(target)) violations.push(`${relative(SRC, file)} imports ${m[1]} (${from} → ${target})`);
      }
    }
    expect(violations).toEqual([]);
  });
});
