#!/usr/bin/env bash
# `npm run bench`: every benchmark, printed as markdown. bench/RESULTS.md holds the last published run.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "## Wire proxy (bench/pgbench.sh ${1:-8} ${2:-2})"; echo
bash bench/pgbench.sh "${1:-8}" "${2:-2}"
echo; echo "## The TLS leg (bench/tls-pgbench.sh ${1:-8} ${2:-2})"; echo
bash bench/tls-pgbench.sh "${1:-8}" "${2:-2}"
echo; echo "## Approvals end to end (node bench/approvals-e2e.mjs)"; echo
eval "$(scripts/test-services.sh | sed 's/^/export /')"
echo '| measure | | | |'; echo '|---|---|---|---|'
node_modules/.bin/node bench/approvals-e2e.mjs "$TEST_PG_URL" "$TEST_REDIS_URL" 200
node_modules/.bin/node bench/approvals-e2e.mjs "$TEST_PG_URL" "$TEST_REDIS_URL" 1000
for b in sql-bench policy-bench approvals-bench; do
  if [ -f "bench/$b.ts" ]; then echo; echo "## $b (npx tsx bench/$b.ts)"; echo; npx tsx "bench/$b.ts"; fi
done
echo; echo "## Memory (bash bench/memory.sh 20)"; echo
bash bench/memory.sh 20
if [ "$(id -u)" = 0 ]; then echo; echo "## Audit durability (bash bench/audit-bench.sh 8 3 8)"; echo; bash bench/audit-bench.sh 8 3 8; fi
