// Every HTTP error code the server can send is documented in docs/api.md, so an integrator's error handling can rely on the table.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HttpErrorCode } from '../../../src/http/http-error.js';

const ROOT = resolve(import.meta.dirname, '../../..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('HTTP error codes', () => {
  it('documents in docs/api.md every code the source sends', () => {
    const doc = readFileSync(join(ROOT, 'docs/api.md'), 'utf8');
    const used = new Set<string>();
    for (const file of sources(join(ROOT, 'src'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/HttpErrorCode\.(\w+)/g)) used.add(HttpErrorCode[m[1] as keyof typeof HttpErrorCode]);
    }
    expect(used).toContain('instance_lost');
    expect(used).toContain('idempotency_key_reused');
    expect([...used].filter((code) => !doc.includes(`\`${code}\``))).toEqual([]);
  });
});
