// Test data for approvals: a pending ApprovalRequest and OpenApprovalInput with sensible defaults.
import type { ApprovalRequest } from '../../../src/approvals/request.js';
import type { OpenApprovalInput } from '../../../src/approvals/service-types.js';
import type { ReviewSpec } from '../../../src/policy/verdict.js';
import { newRequestId } from '../../../src/approvals/ids.js';

export const T0 = Date.parse('2030-01-01T00:00:00.000Z');

export function makeRequest(overrides: Partial<ApprovalRequest> = {}, nowMs = T0): ApprovalRequest {
  return {
    id: newRequestId(),
    status: 'pending',
    sql: 'CREATE TABLE x (a int)',
    normalized: 'CREATE TABLE x (a int)',
    fingerprint: 'abc123',
    categories: ['ddl'],
    tables: ['x'],
    rule: 'ddl',
    ruleReason: 'category ddl matched rule ddl',
    actor: { user: 'agent_bob', application: 'claude', address: '10.0.0.7', owner: 'Carol@Example.com' },
    database: 'app',
    statedReason: 'migration 42',
    approvers: ['alice@example.com', 'bob@example.com', 'carol@example.com', 'dave@example.com'],
    groups: ['dba'],
    quorum: 1,
    scopes: ['once', 'fingerprint'],
    grantTtlMs: 60_000,
    createdAt: new Date(nowMs).toISOString(),
    expiresAt: new Date(nowMs + 300_000).toISOString(),
    decidedAt: null,
    decisions: [],
    instance: 'test-a',
    ...overrides,
  };
}

export function makeOpenInput(review: Partial<ReviewSpec> = {}, overrides: Partial<OpenApprovalInput> = {}): OpenApprovalInput {
  const sql = 'CREATE TABLE x (a int)';
  return {
    sql,
    facts: {
      text: sql,
      categories: ['ddl'],
      parseError: null,
      statements: [
        {
          kind: 'CreateStmt',
          categories: ['ddl'],
          tables: ['x'],
          columns: [],
          columnsWritten: [],
          functions: [],
          bounded: true,
          limit: null,
          transaction: null,
          fingerprint: 'fp_create_x',
          normalized: 'CREATE TABLE x (a int)',
          text: sql,
        },
      ],
    },
    verdict: {
      action: 'review',
      rule: 'ddl',
      reason: 'category ddl matched rule ddl',
      statementIndex: 0,
      review: {
        approvers: ['alice@example.com', 'bob@example.com'],
        groups: ['dba'],
        quorum: 1,
        timeoutMs: 300_000,
        scopes: ['once', 'fingerprint'],
        grantTtlMs: 600_000,
        ...review,
      },
    },
    actor: { user: 'agent_bob', application: 'claude', address: '10.0.0.7' },
    database: 'app',
    statedReason: null,
    connectionId: 'c1',
    ...overrides,
  };
}

/** Resolves with the first event the predicate accepts (or rejects after `ms`, naming what it waited for). */
export function nextEvent<E>(subscribe: (l: (e: E) => void) => () => void, accept: (e: E) => boolean, what: string, ms = 5000): Promise<E> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no event within ${ms} ms: ${what}`));
    }, ms);
    const off = subscribe((e) => {
      if (!accept(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}
