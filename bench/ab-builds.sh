#!/usr/bin/env bash
# A/B cost of a change: pgbench -S through two pgwarden builds side by side, alternating every run, so that load
# from anything else on the machine falls on both alike. Prints TPS, mean latency and the proxy's own CPU time per
# transaction (utime+stime from /proc, which contention from other processes disturbs far less than throughput).
# Usage: bench/ab-builds.sh OLD_DIST_DIR [SECONDS_PER_RUN] [ROUNDS]
#   e.g. build the base commit and copy its dist/ and package.json to bench/.work/dist-before and bench/.work (inside the
#   repository, so that it resolves node_modules), then run this from the changed tree.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${1:?old dist directory}
SECS=${2:-5}
ROUNDS=${3:-3}
WORK=bench/.work
mkdir -p "$WORK"
eval "$(scripts/test-services.sh | sed 's/^/export /')"
PG_PORT=$(node -e "console.log(new URL(process.env.TEST_PG_URL).port)")
DIRECT="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
A_PORT=${BENCH_A_PORT:-64340}
B_PORT=${BENCH_B_PORT:-64342}
npm run build --silent >/dev/null
PGWARDEN_LOG_LEVEL=warn node_modules/.bin/node "$OLD/cli.js" serve --rules rules/default.yaml --upstream "$DIRECT" --listen "127.0.0.1:$A_PORT" --http "127.0.0.1:$((A_PORT + 1))" > "$WORK/ab-old.log" 2>&1 &
OLD_PID=$!
PGWARDEN_LOG_LEVEL=warn node_modules/.bin/node dist/cli.js serve --rules rules/default.yaml --upstream "$DIRECT" --listen "127.0.0.1:$B_PORT" --http "127.0.0.1:$((B_PORT + 1))" > "$WORK/ab-new.log" 2>&1 &
NEW_PID=$!
trap 'kill $OLD_PID $NEW_PID 2>/dev/null || true' EXIT
for p in $A_PORT $B_PORT; do for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p "$p" && break; sleep 0.1; done; done
pgbench -i -q -s 10 "$DIRECT" >/dev/null 2>&1
RES="$WORK/ab.tsv"
: > "$RES"
for round in $(seq "$ROUNDS"); do
  for clients in 1 8; do
    for mode in simple extended; do
      # ABBA order: the build that runs first in a round alternates, so a drift in machine load cancels out.
      order=$([ $((round % 2)) = 1 ] && echo "old new" || echo "new old")
      for build in $order; do
        port=$([ "$build" = old ] && echo "$A_PORT" || echo "$B_PORT")
        pid=$([ "$build" = old ] && echo "$OLD_PID" || echo "$NEW_PID")
        cpu0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
        out=$(pgbench -n -S -M "$mode" -c "$clients" -j "$clients" -T "$SECS" "postgres://postgres@127.0.0.1:$port/postgres" 2>&1)
        cpu1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
        tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
        lat=$(echo "$out" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')
        txs=$(echo "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
        cpu_us=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$txs" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (b - a) / hz * 1e6 / n }')
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$clients" "$mode" "$build" "$tps" "$lat" "$cpu_us" >> "$RES"
        echo "round $round -c $clients -M $mode $build: tps=$tps lat=${lat}ms proxy cpu=${cpu_us}µs/tx" >&2
      done
    done
  done
done
node_modules/.bin/node - "$RES" "$SECS" "$ROUNDS" <<'JS'
const fs = require('node:fs');
const [file, secs, rounds] = process.argv.slice(2);
const groups = new Map();
for (const [c, mode, build, tps, lat, cpu] of fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split('\t'))) {
  const g = groups.get(`${c}|${mode}`) ?? { old: [], new: [] };
  g[build].push({ tps: Number(tps), lat: Number(lat), cpu: Number(cpu) });
  groups.set(`${c}|${mode}`, g);
}
const mean = (a) => a.reduce((s, x) => s + x, 0) / a.length;
console.log(`pgbench -S, scale 10, ${secs}s per run, ${rounds} rounds alternating the two builds (means).`);
console.log('');
console.log('| clients | protocol | old TPS | new TPS | new / old | old latency | new latency | old proxy CPU / tx | new proxy CPU / tx | new / old CPU |');
console.log('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const [key, g] of groups) {
  const [c, mode] = key.split('|');
  const o = mean(g.old.map((x) => x.tps)), n = mean(g.new.map((x) => x.tps));
  const oc = mean(g.old.map((x) => x.cpu)), nc = mean(g.new.map((x) => x.cpu));
  console.log(`| ${c} | ${mode} | ${o.toFixed(0)} | ${n.toFixed(0)} | ${(n / o).toFixed(3)} | ${(mean(g.old.map((x) => x.lat)) * 1000).toFixed(0)} µs | ${(mean(g.new.map((x) => x.lat)) * 1000).toFixed(0)} µs | ${oc.toFixed(1)} µs | ${nc.toFixed(1)} µs | ${(nc / oc).toFixed(3)} |`);
}
JS
