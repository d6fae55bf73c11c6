import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { capText } from '../../../src/audit/text-cap.js';
import { createDeniedFlood } from '../../../src/audit/deny-flood.js';
import type { AuditEvent } from '../../../src/audit/record.js';

describe('capText', () => {
  it('keeps a text within the cap whole, with no hash', () => {
    expect(capText('SELECT 1', 64)).toEqual({ text: 'SELECT 1' });
  });

  it('cuts a long text to at most the cap in UTF-8 bytes, never inside a character, and hashes the whole', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.integer({ min: 4, max: 200 }), (text, max) => {
        const capped = capText(text, max);
        const whole = Buffer.from(text, 'utf8');
        if (whole.length <= max) {
          expect(capped).toEqual({ text });
          return;
        }
        expect(Buffer.byteLength(capped.text, 'utf8')).toBeLessThanOrEqual(max);
        expect(Buffer.byteLength(capped.text, 'utf8')).toBeGreaterThan(max - 4);
        expect(whole.subarray(0, Buffer.byteLength(capped.text)).toString('utf8')).toBe(capped.text);
        expect(capped.text).not.toContain('\uFFFD');
        expect(capped.bytes).toBe(whole.length);
        expect(capped.sha256).toBe(createHash('sha256').update(whole).digest('hex'));
      }),
    );
  });
});

describe('denied flood summary', () => {
  const actor = { user: 'agent', application: 'a', address: '10.0.0.1' };
  const denied = (sql: string): AuditEvent => ({ event: 'statement_denied', actor, database: 'app', sql, categories: ['privileged'], rule: 'privileged' });

  it('records the first `burst` denials of a shape per window and counts the rest into one summary', () => {
    let now = 0;
    const flood = createDeniedFlood({ burst: 3, windowMs: 1000 }, () => now);
    const admitted = Array.from({ length: 10 }, (_, i) => flood.admit(denied(`SELECT pg_read_file('/x') /* ${i} */`), 'shape-1', `t${i}`));
    expect(admitted).toEqual([true, true, true, false, false, false, false, false, false, false]);
    expect(flood.admit(denied('SELECT 2'), 'shape-2', 't')).toBe(true); // another shape has its own window
    expect(flood.due(999)).toEqual([]);
    now = 1000;
    const [summary] = flood.due(now);
    expect(summary).toMatchObject({ event: 'denials_summarized', actor, database: 'app', rule: 'privileged', fingerprint: 'shape-1', count: 7, first_at: 't3', last_at: 't9', sql: "SELECT pg_read_file('/x') /* 9 */" });
    expect(flood.size()).toBe(0);
  });

  it('a new window after the old one ended starts recording again, and the old window still gets its summary', () => {
    let now = 0;
    const flood = createDeniedFlood({ burst: 1, windowMs: 100 }, () => now);
    expect([flood.admit(denied('x'), 's', 'a'), flood.admit(denied('x'), 's', 'b')]).toEqual([true, false]);
    now = 150;
    expect(flood.admit(denied('x'), 's', 'c')).toBe(true);
    expect(flood.due(150).map((e) => e.count)).toEqual([1]);
  });

  it('burst 0 records every denial; denials without a shape are always recorded', () => {
    const off = createDeniedFlood({ burst: 0, windowMs: 1000 });
    expect(Array.from({ length: 5 }, () => off.admit(denied('x'), 's', 't'))).toEqual([true, true, true, true, true]);
    const on = createDeniedFlood({ burst: 1, windowMs: 1000 });
    expect(Array.from({ length: 3 }, () => on.admit(denied('x'), undefined, 't'))).toEqual([true, true, true]);
  });
});
