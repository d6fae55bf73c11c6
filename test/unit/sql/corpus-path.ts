// Where PostgreSQL 15's regression corpus lives: next to the repository (../shared/corpus) in the main checkout, two levels
// up in a worktree (/work/wt/NAME), or wherever PGWARDEN_SQL_CORPUS points. Tests fail (never skip) when it is missing.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../../..');
const FILE = 'pg15-regress-statements.jsonl.gz';

export function regressCorpusPath(): string {
  const candidates = [
    ...(process.env.PGWARDEN_SQL_CORPUS ? [process.env.PGWARDEN_SQL_CORPUS] : []),
    resolve(repo, '../shared/corpus', FILE),
    resolve(repo, '../../shared/corpus', FILE),
  ];
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
}
