#!/usr/bin/env bash
# `npm run bench`: every benchmark, printed as markdown. bench/RESULTS.md holds the last published run.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "## Wire proxy (bench/pgbench.sh ${1:-8} ${2:-2})"; echo
bash bench/pgbench.sh "${1:-8}" "${2:-2}"
for b in sql-bench policy-bench approvals-bench; do
  if [ -f "bench/$b.ts" ]; then echo; echo "## $b (npx tsx bench/$b.ts)"; echo; npx tsx "bench/$b.ts"; fi
done
