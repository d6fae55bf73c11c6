#!/usr/bin/env bash
# The TLS leg: pgbench -S with sslmode=require against PostgreSQL directly, PgBouncer with TLS on both sides (session
# mode) and pgwarden with TLS on both sides, alternating in one run. A dedicated PostgreSQL cluster with ssl = on and
# certificates from a CA made here with openssl. Rows: steady state at -c 1 and -c 8 (extended protocol), and a new
# connection per transaction (-C, where the TLS handshakes are the cost).
# Usage: bench/tls-pgbench.sh [SECONDS_PER_RUN] [ROUNDS]      (needs pgbench, pgbouncer, openssl, initdb)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-8}
ROUNDS=${2:-2}
WORK=$PWD/bench/.work/tls
mkdir -p "$WORK"
eval "$(scripts/test-services.sh | sed 's/^/export /')"
PG_BIN=$TEST_PG_BIN
PG_PORT=${BENCH_TLS_PG_PORT:-64340}
BOUNCER_PORT=${BENCH_TLS_BOUNCER_PORT:-64341}
WARDEN_PORT=${BENCH_TLS_WARDEN_PORT:-64342}
WARDEN_HTTP=${BENCH_TLS_WARDEN_HTTP:-64343}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# A CA and one server certificate (localhost, 127.0.0.1) for all three servers.
if [ ! -f "$WORK/server.crt" ]; then
  (cd "$WORK" &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt -days 30 -subj "/CN=bench CA" -addext basicConstraints=critical,CA:TRUE 2>/dev/null &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null &&
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext &&
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 30 -extfile server.ext 2>/dev/null)
  chmod 600 "$WORK/server.key"
fi
[ "$(id -u)" = 0 ] && chown -R postgres "$WORK"

PGDATA=$WORK/pg
if [ ! -f "$PGDATA/PG_VERSION" ]; then
  as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  cp "$WORK/server.crt" "$WORK/server.key" "$PGDATA/"
  printf 'local all all trust\nhostssl all all 127.0.0.1/32 trust\n' > "$PGDATA/pg_hba.conf"
  cat >> "$PGDATA/postgresql.conf" <<CONF
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK'
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
max_connections = 300
shared_buffers = 128MB
fsync = off
synchronous_commit = off
CONF
  [ "$(id -u)" = 0 ] && chown -R postgres "$WORK"
fi
"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" || as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$WORK/pg.log" -w start >/dev/null

cat > "$WORK/pgbouncer.ini" <<INI
[databases]
postgres = host=127.0.0.1 port=$PG_PORT dbname=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
auth_type = trust
auth_file = $WORK/userlist.txt
pool_mode = session
max_client_conn = 2000
default_pool_size = 100
client_tls_sslmode = require
client_tls_cert_file = $WORK/server.crt
client_tls_key_file = $WORK/server.key
server_tls_sslmode = require
logfile = $WORK/pgbouncer.log
pidfile = $WORK/pgbouncer.pid
unix_socket_dir =
INI
echo '"postgres" ""' > "$WORK/userlist.txt"
[ "$(id -u)" = 0 ] && chown -R postgres "$WORK"
as_pg pgbouncer -d "$WORK/pgbouncer.ini"

npm run build --silent >/dev/null
PGWARDEN_LOG_LEVEL=warn node_modules/.bin/node dist/cli.js serve --upstream "postgres://127.0.0.1:$PG_PORT/?sslmode=require" \
  --listen "127.0.0.1:$WARDEN_PORT" --http "127.0.0.1:$WARDEN_HTTP" --tls-cert "$WORK/server.crt" --tls-key "$WORK/server.key" > "$WORK/pgwarden.log" 2>&1 &
WARDEN_PID=$!
cleanup() { kill "$WARDEN_PID" 2>/dev/null || true; kill "$(cat "$WORK/pgbouncer.pid" 2>/dev/null)" 2>/dev/null || true; as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
for _ in $(seq 80); do pg_isready -q -h 127.0.0.1 -p "$WARDEN_PORT" && break; sleep 0.1; done

DIRECT="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres sslmode=require"
pgbench -i -q -s 10 "$DIRECT" >/dev/null 2>&1
declare -A URL=([direct]="$DIRECT" [pgbouncer]="host=127.0.0.1 port=$BOUNCER_PORT user=postgres dbname=postgres sslmode=require" [pgwarden]="host=127.0.0.1 port=$WARDEN_PORT user=postgres dbname=postgres sslmode=require")
RES="$WORK/results.tsv"
: > "$RES"
for round in $(seq "$ROUNDS"); do
  for shape in "1 extended" "8 extended" "4 connect"; do
    set -- $shape
    clients=$1; kind=$2
    for target in direct pgbouncer pgwarden; do
      if [ "$kind" = connect ]; then args=(-C -M simple); else args=(-M extended); fi
      out=$(pgbench -n -S "${args[@]}" -c "$clients" -j "$clients" -T "$SECS" "${URL[$target]}" 2>&1)
      tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
      lat=$(echo "$out" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')
      printf '%s\t%s\t%s\t%s\t%s\n' "$clients" "$kind" "$target" "$tps" "$lat" >> "$RES"
      echo "round $round -c $clients $kind $target: tps=$tps lat=${lat}ms" >&2
    done
  done
done

node_modules/.bin/node - "$RES" "$SECS" "$ROUNDS" <<'JS'
const fs = require('node:fs');
const [file, secs, rounds] = process.argv.slice(2);
const rows = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split('\t'));
const groups = new Map();
for (const [c, kind, target, tps, lat] of rows) {
  const key = `${c}|${kind}`;
  if (!groups.has(key)) groups.set(key, {});
  (groups.get(key)[target] ??= []).push({ tps: Number(tps), lat: Number(lat) });
}
const mean = (a) => a.reduce((s, x) => s + x, 0) / a.length;
const out = [`pgbench -S with sslmode=require on every leg, scale 10, ${secs}s per run, ${rounds} alternating rounds (mean). "connect" = -C: a new TLS connection (two handshakes through a proxy) per transaction.`, ''];
out.push('| clients | mode | direct TPS | PgBouncer TPS | pgwarden TPS | PgBouncer / direct | pgwarden / direct | pgwarden / PgBouncer | direct latency | PgBouncer added | pgwarden added |');
out.push('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const [key, g] of groups) {
  const [c, kind] = key.split('|');
  const d = mean(g.direct.map((x) => x.tps)), b = mean(g.pgbouncer.map((x) => x.tps)), w = mean(g.pgwarden.map((x) => x.tps));
  const dl = mean(g.direct.map((x) => x.lat)), bl = mean(g.pgbouncer.map((x) => x.lat)), wl = mean(g.pgwarden.map((x) => x.lat));
  out.push(`| ${c} | ${kind} | ${d.toFixed(0)} | ${b.toFixed(0)} | ${w.toFixed(0)} | ${(b / d).toFixed(2)} | ${(w / d).toFixed(2)} | ${(w / b).toFixed(2)} | ${(dl * 1000).toFixed(0)} µs | +${((bl - dl) * 1000).toFixed(0)} µs | +${((wl - dl) * 1000).toFixed(0)} µs |`);
}
console.log(out.join('\n'));
JS
