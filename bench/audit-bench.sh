#!/usr/bin/env bash
# Cost of the audit log's durability modes: pgbench writes (-N, TPC-B without the teller/branch updates: per
# transaction one UPDATE and one INSERT are audited) through pgwarden with the audit off, audit.flush interval,
# audit.flush every_record, and interval on a full disk (a 1 MiB tmpfs, filled; needs root to mount). Targets
# alternate each round. Prints a markdown table with ratios to "audit off".
# Usage: bench/audit-bench.sh [SECONDS_PER_RUN] [ROUNDS] [CLIENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-8}
ROUNDS=${2:-2}
CLIENTS=${3:-8}
WORK=bench/.work/audit
rm -rf "$WORK"; mkdir -p "$WORK"
eval "$(scripts/test-services.sh | sed 's/^/export /')"
PG_PORT=$(node_modules/.bin/node -e "console.log(new URL(process.env.TEST_PG_URL).port)")
DIRECT="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
PORT=${BENCH_WARDEN_PORT:-64340}
HTTP=${BENCH_WARDEN_HTTP:-64341}
npm run build --silent >/dev/null
pgbench -i -q -s 10 "$DIRECT" >/dev/null 2>&1

DISK="$WORK/disk"; mkdir -p "$DISK"
mount -t tmpfs -o size=1m tmpfs "$DISK"
WARDEN_PID=
cleanup() { [ -n "$WARDEN_PID" ] && kill "$WARDEN_PID" 2>/dev/null; umount -l "$DISK" 2>/dev/null || true; }
trap cleanup EXIT

config() { # MODE → config file
  local mode=$1 file="$WORK/$1.yaml"
  case $mode in
    off) printf 'rules: rules/default.yaml\n' > "$file" ;;
    interval) printf 'audit: { file: %s/interval.jsonl, flush: { mode: interval, interval: 200ms } }\n' "$PWD/$WORK" > "$file" ;;
    every_record) printf 'audit: { file: %s/every.jsonl, flush: { mode: every_record } }\n' "$PWD/$WORK" > "$file" ;;
    full_disk) printf 'audit: { file: %s/audit.jsonl, flush: { mode: interval, interval: 200ms } }\n' "$PWD/$DISK" > "$file" ;;
  esac
  echo "$file"
}

start() { # MODE
  PGWARDEN_LOG_LEVEL=warn node_modules/.bin/node dist/cli.js serve --config "$(config "$1")" --upstream "$DIRECT" --listen "127.0.0.1:$PORT" --http "127.0.0.1:$HTTP" > "$WORK/pgwarden-$1.log" 2>&1 &
  WARDEN_PID=$!
  for _ in $(seq 100); do pg_isready -q -h 127.0.0.1 -p "$PORT" && break; sleep 0.1; done
  if [ "$1" = full_disk ]; then
    # Fill the disk, then let pgwarden notice (its first write fails) before the run.
    dd if=/dev/zero of="$DISK/filler" bs=4k 2>/dev/null || true
    psql -X -q "postgres://postgres@127.0.0.1:$PORT/postgres" -c 'CREATE TEMP TABLE t (a int)' >/dev/null 2>&1 || true
    sleep 1
  fi
}
stop() { kill "$WARDEN_PID"; wait "$WARDEN_PID" 2>/dev/null || true; WARDEN_PID=; rm -f "$DISK/filler" "$DISK"/audit.jsonl*; }

RES="$WORK/results.tsv"; : > "$RES"
for round in $(seq "$ROUNDS"); do
  for mode in off interval every_record full_disk; do
    start "$mode"
    out=$(pgbench -n -N -M simple -c "$CLIENTS" -j 2 -T "$SECS" "postgres://postgres@127.0.0.1:$PORT/postgres" 2>&1)
    tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
    lat=$(echo "$out" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')
    failures=$(curl -s "http://127.0.0.1:$HTTP/metrics" | sed -n 's/^pgwarden_audit_failures_total{sink="file"} //p')
    stop
    printf '%s\t%s\t%s\t%s\n' "$mode" "$tps" "$lat" "${failures:-0}" >> "$RES"
    echo "round $round $mode: tps=$tps lat=${lat}ms failed_records=${failures:-0}" >&2
  done
done

node_modules/.bin/node - "$RES" "$SECS" "$ROUNDS" "$CLIENTS" <<'JS'
const fs = require('node:fs');
const [file, secs, rounds, clients] = process.argv.slice(2);
const rows = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split('\t'));
const by = {};
for (const [mode, tps, lat, failed] of rows) (by[mode] ??= []).push({ tps: Number(tps), lat: Number(lat), failed: Number(failed) });
const mean = (a) => a.reduce((s, x) => s + x, 0) / a.length;
const off = mean(by.off.map((x) => x.tps));
const label = { off: 'audit off', interval: 'audit.flush interval (200ms)', every_record: 'audit.flush every_record', full_disk: 'interval, audit file on a full disk' };
console.log(`pgbench -N (simple protocol), scale 10, -c ${clients} -j 2, ${secs}s per run, ${rounds} alternating rounds (mean); 2 audit records per transaction.`);
console.log('');
console.log('| audit | TPS | ratio to audit off | mean latency | failed records (per run) |');
console.log('|---|---:|---:|---:|---:|');
for (const mode of ['off', 'interval', 'every_record', 'full_disk']) {
  const g = by[mode];
  console.log(`| ${label[mode]} | ${mean(g.map((x) => x.tps)).toFixed(0)} | ${(mean(g.map((x) => x.tps)) / off).toFixed(2)} | ${mean(g.map((x) => x.lat)).toFixed(2)} ms | ${mode === 'full_disk' ? mean(g.map((x) => x.failed)).toFixed(0) : '—'} |`);
}
JS
