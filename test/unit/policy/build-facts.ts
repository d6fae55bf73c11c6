// Hand-built StatementFacts/TextFacts for policy tests (the policy engine is tested without the parser).
import type { Category, StatementFacts, TextFacts } from '../../../src/sql/types.js';
import type { Actor, SessionInfo } from '../../../src/policy/verdict.js';

export function stmt(kind: string, categories: Category[], more: Partial<StatementFacts> = {}): StatementFacts {
  return {
    kind,
    categories,
    tables: [],
    columns: [],
    columnsWritten: [],
    functions: [],
    bounded: false,
    limit: null,
    transaction: null,
    fingerprint: 'f00',
    normalized: '',
    text: '',
    ...more,
  };
}

export function text(...statements: StatementFacts[]): TextFacts {
  const categories = [...new Set(statements.flatMap((s) => s.categories))];
  return { text: statements.map((s) => s.text).join('; '), statements, categories, parseError: null };
}

export function unparsed(message = 'syntax error at or near "SELEC"'): TextFacts {
  return { text: 'SELEC 1', statements: [stmt('Unknown', ['unknown'])], categories: ['unknown'], parseError: message };
}

export const agent: Actor = { user: 'agent', application: 'claude', address: '10.1.2.3' };

export function session(more: Partial<SessionInfo> = {}): SessionInfo {
  return { database: 'postgres', inTransactionBlock: false, now: new Date('2026-03-04T10:00:00Z'), ...more };
}
