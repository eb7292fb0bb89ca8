#!/usr/bin/env bash
# postgres-cluster base backups into the deduplicated repository (issue 21), side by side with
# pgBackRest in one run, on a private PostgreSQL 15 cluster (initdb, own port):
#   (1) a first (full) backup:              pgbackrest --type=full  vs a Backstop base backup
#   (2) ROUNDS times: 2% of the rows updated (a contiguous id range, a new one each round), a
#       checkpoint, then                    pgbackrest --type=incr  vs a Backstop base backup
# printing each one's time and stored growth. pgBackRest runs with zst level 3 and process-max 2
# (the issue's settings), Backstop with the shipped defaults (chunked, zstd-3) to a filesystem
# target. Both wait until the WAL their backup needs is archived (pgBackRest's archive-push from
# archive_command, Backstop's pg_receivewal), so both backups are restorable when they end.
# Data: lib.sh's rows (~1 KB each, a quarter random bytes), not trivially compressible.
# Usage: bench/dedup-basebackup.sh           (SIZE_MB=800 ROUNDS=2; installs pgbackrest from Debian if missing)
#        SIZE_MB=100 ROUNDS=1 bench/dedup-basebackup.sh   (a quick smoke run)
# Runs the cluster and pgBackRest as the postgres OS user when run as root. Everything is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB="${SIZE_MB:-800}" ROUNDS="${ROUNDS:-2}"
BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
APP_PORT=18390 ADMIN_PORT=18391 S3_PORT=18392 SRC_PORT=18393
HEAP="${HEAP:-256m}"
# shellcheck source=bench/lib.sh
. bench/lib.sh
need_peer pgbackrest
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

[ -f service/target/backstop.jar ] || mvn -q -B -DskipTests package
work="$(mktemp -d /var/tmp/backstop-bench-basebackup.XXXXXX)"; chmod 755 "$work"
mkdir -p "$work/sock" "$work/pgbackrest/repo" "$work/pgbackrest/log" "$work/fs"
[ "$(id -u)" = 0 ] && chown postgres "$work" "$work/sock" && chown -R postgres "$work/pgbackrest"
pids=()
cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; wait "${pids[i]}" 2>/dev/null || true; done
  [ -f "$work/src/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$work/src" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

conf="$work/pgbackrest/pgbackrest.conf"
cat > "$conf" <<CONF
[global]
repo1-path=$work/pgbackrest/repo
repo1-retention-full=10
compress-type=zst
compress-level=3
process-max=2
start-fast=y
log-path=$work/pgbackrest/log
log-level-console=warn
lock-path=$work/pgbackrest

[bench]
pg1-path=$work/src
pg1-port=$SRC_PORT
pg1-socket-path=$work/sock
pg1-user=postgres
CONF
[ "$(id -u)" = 0 ] && chown postgres "$conf"
br() { as_pg pgbackrest --config="$conf" --stanza=bench "$@"; }

echo "initdb and about ${SIZE_MB} MB of rows on 127.0.0.1:$SRC_PORT ..."
as_pg "$BIN/initdb" -D "$work/src" -U postgres -A trust --no-sync >/dev/null
cat >> "$work/src/postgresql.conf" <<CONF
port = $SRC_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work/sock'
max_wal_size = 4GB
archive_mode = on
archive_command = 'pgbackrest --config=$conf --stanza=bench archive-push %p'
CONF
as_pg "$BIN/pg_ctl" -D "$work/src" -l "$work/src.log" -w start >/dev/null
PGPORT=$SRC_PORT populate bench "$SIZE_MB"
rows=$(PGPORT=$SRC_PORT psql -qAt -d bench -c "SELECT count(*) FROM items")
size=$(PGPORT=$SRC_PORT psql -qAt -d postgres -c "SELECT sum(pg_database_size(oid)) FROM pg_database")
br stanza-create >/dev/null

write_config "$work" "$APP_PORT" "$ADMIN_PORT" "$S3_PORT" "sources:
  - {type: postgres-cluster, name: main, target: fs, port: $SRC_PORT, user: postgres, binDirectory: $BIN}"
start_service "$work" "$work/config.yml" "$HEAP" "$ADMIN_PORT"; pids+=("$SERVICE_PID")
until [ -f "$work/fs/main/wal/status.json" ]; do sleep 0.2; done

repo_bytes() { du -sb "$work/pgbackrest/repo/backup" | cut -f1; }
backstop() { # -> "seconds addedBytes"
  local body
  body=$(submit_and_wait "127.0.0.1:$APP_PORT/api/v1/snapshots" '{"source": "main"}')
  case "$body" in *'"status":"COMPLETED"'*) ;; *) echo "base backup failed: $body" >&2; exit 1 ;; esac
  echo "$(json_field durationSeconds "$body") $(json_field addedBytes "$body")"
}
pgbr() { # type -> "seconds addedBytes"
  local before t0 t
  before=$(repo_bytes); t0=$(now); br backup --type="$1" >/dev/null; t=$(echo "$(now) - $t0" | bc)
  echo "$t $(($(repo_bytes) - before))"
}

sync; echo "warming the page cache with one base backup ..."
"$BIN/pg_basebackup" -h 127.0.0.1 -p $SRC_PORT -U postgres -D - -Ft -X none -c fast 2>/dev/null > /dev/null
read -r p_full p_full_bytes < <(pgbr full)
read -r b_full b_full_bytes < <(backstop)
lines=()
n=$((rows / 50))
for r in $(seq 1 "$ROUNDS"); do
  lo=$(((r - 1) * n * 2)) # a new range each round, away from the last one
  PGPORT=$SRC_PORT psql -qAt -d bench -c "UPDATE items SET qty = qty + 1, label = label || ' r$r' WHERE id > $lo AND id <= $((lo + n))" \
    -c "CHECKPOINT" >/dev/null
  if [ $((r % 2)) = 1 ]; then # alternate which goes first
    read -r p_t p_b < <(pgbr incr); read -r b_t b_b < <(backstop)
  else
    read -r b_t b_b < <(backstop); read -r p_t p_b < <(pgbr incr)
  fi
  lines+=("$r $p_t $p_b $b_t $b_b")
done

printf '\ncluster %.0f MB (%s rows in bench.items); pgBackRest %s, zst-3, process-max 2\n' "$(echo "$size / 1048576" | bc -l)" \
  "$rows" "$(pgbackrest version | awk '{ print $2 }')"
printf '%-44s %9s %14s %9s\n' run seconds "stored growth" "of first"
printf '%-44s %9.2f %14s\n' "pgbackrest --type=full" "$p_full" "$p_full_bytes"
printf '%-44s %9.2f %14s\n' "Backstop base backup, first" "$b_full" "$b_full_bytes"
for l in "${lines[@]}"; do
  read -r r p_t p_b b_t b_b <<<"$l"
  printf '%-44s %9.2f %14s %8.1f%%\n' "round $r: 2% updated, pgbackrest --type=incr" "$p_t" "$p_b" "$(echo "100 * $p_b / $p_full_bytes" | bc -l)"
  printf '%-44s %9.2f %14s %8.1f%%\n' "round $r: 2% updated, Backstop base backup" "$b_t" "$b_b" "$(echo "100 * $b_b / $b_full_bytes" | bc -l)"
  printf '  ratio round %s: time Backstop / pgbackrest incr = %.2f   growth ratio = %.2f\n' "$r" "$(echo "$b_t / $p_t" | bc -l)" \
    "$(echo "$b_b / $p_b" | bc -l)"
done
printf 'first backup: time Backstop / pgbackrest full = %.2f\n' "$(echo "$b_full / $p_full" | bc -l)"
