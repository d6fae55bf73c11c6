#!/usr/bin/env bash
# Starts the real PostgreSQL and Redis the integration tests talk to, and prints the env lines
# (TEST_PG_URL, TEST_REDIS_URL) to use. Idempotent: a service already answering is left alone.
# Installs Debian's packages when the binaries are missing (needs root, as in CI).
set -euo pipefail
STATE_DIR=${PGWARDEN_TEST_STATE:-/tmp/pgwarden-test}
PG_PORT=${PGWARDEN_TEST_PG_PORT:-54329}
REDIS_PORT=${PGWARDEN_TEST_REDIS_PORT:-63799}
mkdir -p "$STATE_DIR"

need_pkgs=()
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] || need_pkgs+=(postgresql)
command -v redis-server >/dev/null || need_pkgs+=(redis-server)
command -v psql >/dev/null || need_pkgs+=(postgresql-client)
command -v pgbench >/dev/null || need_pkgs+=(postgresql-contrib)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "installing ${need_pkgs[*]} from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${need_pkgs[@]}" >&2
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

PGDATA="$STATE_DIR/pg"
if ! "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$STATE_DIR"
    as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    # Roles for each authentication method the proxy must relay (see test/helpers/pg.ts).
    cat > "$PGDATA/pg_hba.conf" <<'HBA'
local all all trust
host all pgw_md5 127.0.0.1/32 md5
host all pgw_scram 127.0.0.1/32 scram-sha-256
host all pgw_clear 127.0.0.1/32 password
host all all 127.0.0.1/32 trust
host all all ::1/128 trust
HBA
    cat >> "$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
max_connections = 1200
shared_buffers = 256MB
fsync = off
synchronous_commit = off
unix_socket_directories = '$STATE_DIR'
CONF
  fi
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$STATE_DIR"
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$STATE_DIR/pg.log" -w start >/dev/null
fi

if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
    --logfile "$STATE_DIR/redis.log" --dir "$STATE_DIR" >/dev/null
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

echo "TEST_PG_URL=postgres://postgres@127.0.0.1:$PG_PORT/postgres"
echo "TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
echo "TEST_PG_BIN=$PG_BIN"
