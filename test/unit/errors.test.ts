// Error registry (src/errors.ts) ↔ docs/errors.md: every id documented with its SQLSTATE and severity, nothing documented that the code lacks.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as errors from '../../src/errors.js';
import { PgwardenError, SqlState } from '../../src/errors.js';

const root = resolve(import.meta.dirname, '../..');
const doc = readFileSync(resolve(root, 'docs/errors.md'), 'utf8');
const source = readFileSync(resolve(root, 'src/errors.ts'), 'utf8');

interface Row {
  sqlstate: string;
  severity: string;
}

const rows = new Map<string, Row>();
for (const line of doc.split('\n')) {
  const m = /^\| `(PGW_[A-Z0-9_]+)` \| (`([0-9A-Z]{5})`|—) \| ([^|]+) \|/.exec(line);
  if (m) rows.set(m[1]!, { sqlstate: m[3] ?? '—', severity: m[4]!.trim() });
}

type Ctor = (new (...args: unknown[]) => Error) & Record<string, unknown>;

/** One instance per way the module builds errors: every static factory, or the constructor when a class has none. Dummy arguments. */
function instances(): Error[] {
  const out: Error[] = [];
  for (const value of Object.values(errors)) {
    if (typeof value !== 'function' || !(value.prototype instanceof Error)) continue;
    const cls = value as unknown as Ctor;
    if (Object.hasOwn(cls, 'prototype') && (cls as unknown) === PgwardenError) continue;
    const factories = Object.getOwnPropertyNames(cls).filter((k) => typeof cls[k] === 'function' && k !== 'prototype');
    if (factories.length > 0) {
      for (const k of factories) out.push((cls[k] as (...a: unknown[]) => Error)(...Array<unknown>((cls[k] as () => void).length).fill('x')));
    } else {
      out.push(new cls(...Array<unknown>(cls.length).fill('x')));
    }
  }
  return out;
}

describe('error registry and docs/errors.md', () => {
  it('documents exactly the ids src/errors.ts declares', () => {
    const declared = [...new Set([...source.matchAll(/'(PGW_[A-Z0-9_]+)'/g)].map((m) => m[1]!))].sort();
    expect([...rows.keys()].sort()).toEqual(declared);
  });

  it('documents the SQLSTATE and severity each error really carries', () => {
    const built = instances();
    expect(built.length).toBeGreaterThanOrEqual(rows.size);
    for (const err of built) {
      const id = (err as { id?: string }).id!;
      const row = rows.get(id);
      expect(row, `${id} is missing from docs/errors.md`).toBeDefined();
      if (err instanceof PgwardenError) {
        expect(row!.sqlstate, id).toBe(err.sqlstate);
        expect(row!.severity, id).toContain(err.severity);
        expect(err.message, id).toMatch(/^pgwarden: /);
      } else {
        expect(row!.sqlstate, id).toBe('—');
      }
    }
  });

  it('covers every id in the table by some error the module can build', () => {
    const ids = new Set(instances().map((e) => (e as { id?: string }).id));
    for (const id of rows.keys()) expect(ids.has(id), id).toBe(true);
  });

  it('lists every SQLSTATE pgwarden sends', () => {
    for (const code of Object.values(SqlState)) expect(doc).toContain(`| \`${code}\` |`);
  });
});
