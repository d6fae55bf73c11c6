#!/usr/bin/env bash
# Resident memory of `pgwarden serve` (VmHWM = peak, VmRSS = now, from /proc/PID/status): on its first query with and
# without src/v8-flags.ts, in steady state under pgbench (reads, then audited writes), and with 1,000 idle
# connections; plus the parser's speed with and without the flag (bench/parser-tiering.ts). Prints markdown.
# Usage: bench/memory.sh [PGBENCH_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-20}
WORK=bench/.work/memory; rm -rf "$WORK"; mkdir -p "$WORK"
eval "$(scripts/test-services.sh | sed 's/^/export /')"
PG_PORT=$(node_modules/.bin/node -e "console.log(new URL(process.env.TEST_PG_URL).port)")
DIRECT="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
PORT=${BENCH_WARDEN_PORT:-64360}; HTTP=${BENCH_WARDEN_HTTP:-64361}
URL="postgres://postgres@127.0.0.1:$PORT/postgres"
npm run build --silent >/dev/null
pgbench -i -q -s 10 "$DIRECT" >/dev/null 2>&1
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; }
trap cleanup EXIT
mib() { awk -v k="$2:" '$1 == k { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
wait_up() { for _ in $(seq 100); do pg_isready -q -h 127.0.0.1 -p "$PORT" && return; sleep 0.1; done; }
first_query() { # prints "before_hwm after_hwm"
  local before; wait_up; sleep 1; before=$(mib "$PID" VmHWM)
  psql -X -q "$URL" -c "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' LIMIT 3" >/dev/null
  sleep 2; echo "$before $(mib "$PID" VmHWM)"
}

# 1. First query: with the flag (the bin) and without (V8 default tiering), 3 fresh processes each.
for i in 1 2 3; do
  PGWARDEN_LOG_LEVEL=warn node_modules/.bin/node dist/cli.js serve --upstream "$DIRECT" --listen "127.0.0.1:$PORT" --http "127.0.0.1:$HTTP" > "$WORK/serve.log" 2>&1 & PID=$!
  echo "liftoff $(first_query)" >> "$WORK/first.txt"; kill "$PID"; wait "$PID" 2>/dev/null || true
  node_modules/.bin/node bench/serve-default-tiering.mjs "$DIRECT" "127.0.0.1:$PORT" "127.0.0.1:$HTTP" > "$WORK/serve-default.log" 2>&1 & PID=$!
  echo "turbofan $(first_query)" >> "$WORK/first.txt"; kill "$PID"; wait "$PID" 2>/dev/null || true
done

# 2. Steady state: a fresh pgwarden (audit on, interval), pgbench -S then -N, VmRSS sampled every 0.5 s; once with
#    V8's heap sized for this host and once sized as Node sizes it in a 512 MiB container (--max-old-space-size=256).
printf 'audit: { file: %s/audit.jsonl }\n' "$PWD/$WORK" > "$WORK/audit.yaml"
steady() { # NODE_FLAGS… → "idle max end hwm s_tps n_tps"
  PGWARDEN_LOG_LEVEL=warn node_modules/.bin/node "$@" dist/cli.js serve --config "$WORK/audit.yaml" --upstream "$DIRECT" --listen "127.0.0.1:$PORT" --http "127.0.0.1:$HTTP" > "$WORK/serve.log" 2>&1 & PID=$!
  wait_up; sleep 1; local idle; idle=$(mib "$PID" VmRSS)
  ( while kill -0 "$PID" 2>/dev/null; do mib "$PID" VmRSS; echo; sleep 0.5; done ) > "$WORK/rss.txt" 2>/dev/null &
  local sampler=$! s n
  s=$(pgbench -n -S -M extended -c 8 -j 2 -T "$SECS" "$URL" 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
  n=$(pgbench -n -N -M simple -c 8 -j 2 -T "$((SECS * 3))" "$URL" 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
  kill "$sampler" 2>/dev/null || true
  echo "$idle $(sort -n "$WORK/rss.txt" | tail -1) $(mib "$PID" VmRSS) $(mib "$PID" VmHWM) $s $n"
  kill "$PID"; wait "$PID" 2>/dev/null || true
}
STEADY_HOST=$(steady)
STEADY_512=$(steady --max-old-space-size=256)

# 3. 1,000 idle connections on a fresh pgwarden.
PGWARDEN_LOG_LEVEL=warn node_modules/.bin/node dist/cli.js serve --upstream "$DIRECT" --listen "127.0.0.1:$PORT" --http "127.0.0.1:$HTTP" > "$WORK/serve.log" 2>&1 & PID=$!
wait_up
IDLE_CONN=$(node_modules/.bin/node bench/idle-memory.mjs "$PID" "$URL" 1000)
IDLE_HWM=$(mib "$PID" VmHWM)
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=

# 4. Parser speed with and without the flag, alternating, 3 runs each.
for i in 1 2 3; do
  for m in liftoff turbofan; do npx tsx bench/parser-tiering.ts "$m" >> "$WORK/tiering.jsonl"; done
done

node_modules/.bin/node - "$WORK" "$SECS" "$STEADY_HOST" "$STEADY_512" "$IDLE_CONN" "$IDLE_HWM" <<'JS'
const fs = require('node:fs');
const [work, secs, steadyHost, steady512, idleConn, idleHwm] = process.argv.slice(2);
const first = fs.readFileSync(`${work}/first.txt`, 'utf8').trim().split('\n').map((l) => l.split(' '));
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const peaks = (m) => first.filter((r) => r[0] === m).map((r) => Number(r[2]));
const befores = (m) => first.filter((r) => r[0] === m).map((r) => Number(r[1]));
const tier = fs.readFileSync(`${work}/tiering.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const t = (m, k) => med(tier.filter((r) => r.mode === m).map((r) => r[k]));
const out = [];
out.push('| measure | with the flag (Liftoff only) | V8 default (TurboFan tier-up) |');
out.push('|---|---:|---:|');
out.push(`| \`pgwarden serve\`: peak resident (VmHWM) before any query | ${med(befores('liftoff'))} MiB | ${med(befores('turbofan'))} MiB |`);
out.push(`| \`pgwarden serve\`: peak resident 2 s after its first query with a FROM clause (median of 3 fresh processes; runs: ${peaks('liftoff').join(', ')} / ${peaks('turbofan').join(', ')}) | **${med(peaks('liftoff'))} MiB** | ${med(peaks('turbofan'))} MiB |`);
out.push(`| parser alone (bench/parser-tiering.ts): peak after the first parse | ${t('liftoff', 'hwm_first_parse_mib')} MiB | ${t('turbofan', 'hwm_first_parse_mib')} MiB |`);
out.push(`| uncached parse + facts, pgbench-like statements, median (of 3 alternating runs) | ${t('liftoff', 'analyze_median_us')} µs | ${t('turbofan', 'analyze_median_us')} µs |`);
out.push(`| uncached parse + facts, mean per statement | ${t('liftoff', 'analyze_per_stmt_us')} µs | ${t('turbofan', 'analyze_per_stmt_us')} µs |`);
out.push(`| libpg-query parseSync alone, mean per statement | ${t('liftoff', 'parse_only_per_stmt_us')} µs | ${t('turbofan', 'parse_only_per_stmt_us')} µs |`);
out.push('');
out.push(`Steady state (with the flag, audit on, \`pgbench -S -M extended -c 8\` for ${secs} s then \`pgbench -N -c 8\` for ${secs * 3} s; VmRSS sampled every 0.5 s):`);
out.push('');
out.push('| V8 heap | idle | max VmRSS under load | VmRSS at the end | VmHWM | -S TPS | -N TPS |');
out.push('|---|---:|---:|---:|---:|---:|---:|');
for (const [label, line] of [['sized for this 24 GiB host (V8 default)', steadyHost], ['as Node sizes it in a 512 MiB container (`--max-old-space-size=256`)', steady512]]) {
  const [idle, max, end, hwm, s, n] = line.split(' ');
  out.push(`| ${label} | ${idle} MiB | **${max} MiB** | ${end} MiB | ${hwm} MiB | ${Number(s).toFixed(0)} | ${Number(n).toFixed(0)} |`);
}
out.push('');
out.push(`Idle connections (fresh pgwarden): ${idleConn}; peak (VmHWM) ${idleHwm} MiB.`);
console.log(out.join('\n'));
JS
