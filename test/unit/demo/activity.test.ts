// The demo's live feed uses the product's own words: a refusal is "denied", by a rule or by a person, never "rejected".
import { describe, expect, it } from 'vitest';
import { stripVTControlCharacters } from 'node:util';
import { formatActivity } from '../../../src/demo/activity.js';

const at = new Date('2026-05-01T10:00:00Z');
const plain = (r: Parameters<typeof formatActivity>[0]) => stripVTControlCharacters(formatActivity(r, at) ?? '');

describe('demo activity feed', () => {
  it('says "denied" for a rule denial and names the rule', () => {
    const text = plain({ event: 'statement_denied', actor: { user: 'agent' }, sql: "SELECT pg_read_file($1)", rule: 'privileged' } as never);
    expect(text).toMatch(/denied\s+agent SELECT pg_read_file\(\$1\) by rule privileged/);
  });

  it('says "denied" for a human denial, with who, why and what the agent gets', () => {
    const text = plain({ event: 'denied', request_id: 'apr_1', by: 'dba@example.com', reason: 'use the replica' } as never);
    expect(text).toMatch(/denied\s+apr_1 by dba@example\.com \(use the replica\): the agent gets 42501/);
    expect(text).not.toContain('rejected');
  });
});
