#!/usr/bin/env bash
# pgbench -S through direct PostgreSQL, PgBouncer (session mode) and pgwarden, alternating in one run, at -c 1 and -c 8,
# simple and extended protocol. Prints a markdown table of TPS, mean latency and ratios to direct PostgreSQL.
# Usage: bench/pgbench.sh [SECONDS_PER_RUN] [ROUNDS]      (needs pgbench, pgbouncer; starts the test services)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-8}
ROUNDS=${2:-2}
WORK=bench/.work
mkdir -p "$WORK"
eval "$(scripts/test-services.sh | sed 's/^/export /')"
PG_PORT=$(node -e "console.log(new URL(process.env.TEST_PG_URL).port)")
DIRECT="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
BOUNCER_PORT=${BENCH_BOUNCER_PORT:-64329}
WARDEN_PORT=${BENCH_WARDEN_PORT:-64330}
WARDEN_HTTP=${BENCH_WARDEN_HTTP:-64331}
command -v pgbouncer >/dev/null || { echo "pgbouncer is missing: apt-get install pgbouncer" >&2; exit 1; }

# PgBouncer refuses to run as root; give it a config and auth file owned by postgres.
cat > "$WORK/pgbouncer.ini" <<INI
[databases]
postgres = host=127.0.0.1 port=$PG_PORT dbname=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
auth_type = trust
auth_file = $PWD/$WORK/userlist.txt
pool_mode = session
max_client_conn = 2000
default_pool_size = 100
logfile = $PWD/$WORK/pgbouncer.log
pidfile = $PWD/$WORK/pgbouncer.pid
unix_socket_dir =
INI
echo '"postgres" ""' > "$WORK/userlist.txt"
chmod 755 "$WORK"; [ "$(id -u)" = 0 ] && chown -R postgres "$WORK"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_pg pgbouncer -d "$WORK/pgbouncer.ini"

npm run build --silent >/dev/null
PGWARDEN_LOG_LEVEL=warn node_modules/.bin/node dist/cli.js serve --upstream "$DIRECT" --listen "127.0.0.1:$WARDEN_PORT" --http "127.0.0.1:$WARDEN_HTTP" > "$WORK/pgwarden.log" 2>&1 &
WARDEN_PID=$!
cleanup() { kill "$WARDEN_PID" 2>/dev/null || true; kill "$(cat "$WORK/pgbouncer.pid" 2>/dev/null)" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p "$WARDEN_PORT" && break; sleep 0.1; done

pgbench -i -q -s 10 "$DIRECT" >/dev/null 2>&1
declare -A URL=([direct]="$DIRECT" [pgbouncer]="postgres://postgres@127.0.0.1:$BOUNCER_PORT/postgres" [pgwarden]="postgres://postgres@127.0.0.1:$WARDEN_PORT/postgres")
RES="$WORK/results.tsv"
: > "$RES"
for round in $(seq "$ROUNDS"); do
  for clients in 1 8; do
    for mode in simple extended; do
      for target in direct pgbouncer pgwarden; do
        out=$(pgbench -n -S -M "$mode" -c "$clients" -j "$clients" -T "$SECS" "${URL[$target]}" 2>&1)
        tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
        lat=$(echo "$out" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')
        printf '%s\t%s\t%s\t%s\t%s\n' "$clients" "$mode" "$target" "$tps" "$lat" >> "$RES"
        echo "round $round -c $clients -M $mode $target: tps=$tps lat=${lat}ms" >&2
      done
    done
  done
done

# Resident memory per idle client connection, 1,000 connections, on a freshly started pgwarden (the one above has
# grown its heap during the runs, which would hide the cost of new connections).
kill "$WARDEN_PID"; wait "$WARDEN_PID" 2>/dev/null || true
PGWARDEN_LOG_LEVEL=warn node_modules/.bin/node dist/cli.js serve --upstream "$DIRECT" --listen "127.0.0.1:$WARDEN_PORT" --http "127.0.0.1:$WARDEN_HTTP" > "$WORK/pgwarden-mem.log" 2>&1 &
WARDEN_PID=$!
for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p "$WARDEN_PORT" && break; sleep 0.1; done
MEM=$(node_modules/.bin/node bench/idle-memory.mjs "$WARDEN_PID" "postgres://postgres@127.0.0.1:$WARDEN_PORT/postgres" 1000)

node_modules/.bin/node - "$RES" "$SECS" "$ROUNDS" "$MEM" <<'JS'
const fs = require('node:fs');
const [file, secs, rounds, mem] = process.argv.slice(2);
const rows = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split('\t'));
const groups = new Map();
for (const [c, mode, target, tps, lat] of rows) {
  const key = `${c}|${mode}`;
  if (!groups.has(key)) groups.set(key, {});
  const g = groups.get(key);
  (g[target] ??= []).push({ tps: Number(tps), lat: Number(lat) });
}
const mean = (a) => a.reduce((s, x) => s + x, 0) / a.length;
const lines = [];
lines.push(`pgbench -S, scale 10, ${secs}s per run, ${rounds} alternating rounds (mean of the rounds). Ratios are to direct PostgreSQL in the same run.`);
lines.push('');
lines.push('| clients | protocol | direct TPS | PgBouncer TPS | pgwarden TPS | PgBouncer / direct | pgwarden / direct | pgwarden / PgBouncer | direct latency | PgBouncer added | pgwarden added |');
lines.push('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const [key, g] of groups) {
  const [c, mode] = key.split('|');
  const d = mean(g.direct.map((x) => x.tps)), b = mean(g.pgbouncer.map((x) => x.tps)), w = mean(g.pgwarden.map((x) => x.tps));
  const dl = mean(g.direct.map((x) => x.lat)), bl = mean(g.pgbouncer.map((x) => x.lat)), wl = mean(g.pgwarden.map((x) => x.lat));
  lines.push(`| ${c} | ${mode} | ${d.toFixed(0)} | ${b.toFixed(0)} | ${w.toFixed(0)} | ${(b / d).toFixed(2)} | ${(w / d).toFixed(2)} | ${(w / b).toFixed(2)} | ${(dl * 1000).toFixed(0)} µs | +${((bl - dl) * 1000).toFixed(0)} µs | +${((wl - dl) * 1000).toFixed(0)} µs |`);
}
lines.push('');
lines.push(`Idle connections: ${mem}`);
console.log(lines.join('\n'));
JS
