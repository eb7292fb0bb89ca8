#!/usr/bin/env bash
# postgres-cluster side by side in one run, on a private PostgreSQL 15 cluster (initdb, own port):
#   base backup  (a) pg_basebackup -D - -Ft -X none -c fast | zstd -3 -T1 > file   the stock pipeline
#                (b) a Backstop base backup to a filesystem target (zstd-3, SHA-256, fsync + rename,
#                    and COMPLETED only once the WAL from its start to its end is archived)
#   PITR restore of that base backup plus WAL_MB of WAL, to a point just before the WAL's end:
#                (c) stock: zstd -d | tar -x, restore_command with zstd -d, pg_ctl start, wait for promotion
#                (d) Backstop: POST /api/v1/restores {"source", "pointInTime"} (download, verify, replay, promote)
# Usage: bench/pitr.sh                    (SIZE_MB=800 WAL_MB=1024 RUNS=3; needs zstd, curl, /usr/lib/postgresql/15/bin)
#        the base backups run RUNS times each, interleaved, and the medians are compared
#        SIZE_MB=100 WAL_MB=128 bench/pitr.sh   (a quick smoke run)
# Runs servers as the postgres OS user when run as root. Everything is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB="${SIZE_MB:-800}" WAL_MB="${WAL_MB:-1024}" RUNS="${RUNS:-3}"
BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
APP_PORT=18190 ADMIN_PORT=18191 S3_PORT=18192 SRC_PORT=18193 STOCK_PORT=18194 RESTORE_PORT=18195
HEAP="${HEAP:-256m}"
# shellcheck source=bench/lib.sh
. bench/lib.sh
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

[ -f service/target/backstop.jar ] || mvn -q -B -DskipTests package
work="$(mktemp -d /var/tmp/backstop-bench-pitr.XXXXXX)"; chmod 755 "$work"
[ "$(id -u)" = 0 ] && chown postgres "$work"
pids=()
cleanup() {
  # Newest first: the service stops before S3Proxy (it stores its WAL spool on the way out).
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; wait "${pids[i]}" 2>/dev/null || true; done
  for d in "$work/src" "$work/stock" "$work/restored"; do
    [ -f "$d/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true
  done
  cp "$work/service.log" "${KEEP_LOG:-/dev/null}" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "initdb and pgbench -i (about ${SIZE_MB} MB) on 127.0.0.1:$SRC_PORT ..."
as_pg "$BIN/initdb" -D "$work/src" -U postgres -A trust --no-sync >/dev/null
printf "port = $SRC_PORT\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\nmax_wal_size = 4GB\n" >> "$work/src/postgresql.conf"
as_pg "$BIN/pg_ctl" -D "$work/src" -l "$work/src.log" -w start >/dev/null
SRC="-h 127.0.0.1 -p $SRC_PORT -U postgres"
scale=$((SIZE_MB * 10 / 150)); [ "$scale" -lt 1 ] && scale=1
"$BIN/pgbench" $SRC -i -q -s "$scale" postgres >/dev/null 2>&1
size=$("$BIN/psql" $SRC -qAt -d postgres -c "SELECT sum(pg_database_size(oid)) FROM pg_database")

mkdir -p "$work/fs"
start_s3proxy "$work" "$S3_PORT"; pids+=("$S3PROXY_PID")
write_config "$work" "$APP_PORT" "$ADMIN_PORT" "$S3_PORT" "sources:
  - {type: postgres-cluster, name: main, target: fs, port: $SRC_PORT, user: postgres, binDirectory: $BIN}"
start_service "$work" "$work/config.yml" "$HEAP" "$ADMIN_PORT"; pids+=("$SERVICE_PID")
until [ -f "$work/fs/main/wal/status.json" ]; do sleep 0.2; done

sync; echo "warming the page cache with one base backup ..."
"$BIN/pg_basebackup" $SRC -D - -Ft -X none -c fast 2>/dev/null > /dev/null
median() { printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"; }
ta_all=() tb_all=()
for _ in $(seq 1 "$RUNS"); do # interleaved, so both see the same page cache and machine load
  t0=$(now); "$BIN/pg_basebackup" $SRC -D - -Ft -X none -c fast 2>/dev/null | zstd -q -3 -T1 > "$work/stock.tar.zst"
  ta_all+=("$(echo "$(now) - $t0" | bc)")
  body=$(submit_and_wait "127.0.0.1:$APP_PORT/api/v1/snapshots" '{"source": "main"}')
  case "$body" in *'"status":"COMPLETED"'*) ;; *) echo "base backup failed: $body" >&2; exit 1 ;; esac
  tb_all+=("$(json_field durationSeconds "$body")"); key=$(json_field dataKey "$body")
done
ta=$(median "${ta_all[@]}") tb=$(median "${tb_all[@]}")

echo "writing about ${WAL_MB} MB of WAL with pgbench ..."
lsn0=$("$BIN/psql" $SRC -qAt -c "SELECT pg_current_wal_lsn()")
while [ "$("$BIN/psql" $SRC -qAt -c "SELECT (pg_current_wal_lsn() - '$lsn0') / 1048576 >= $WAL_MB")" = f ]; do
  "$BIN/pgbench" $SRC -n -c 2 -T 10 postgres >/dev/null 2>&1
done
point=$("$BIN/psql" $SRC -qAt -c "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
"$BIN/psql" $SRC -qAt -c "CREATE TABLE after_point AS SELECT 1 AS x" -c "SELECT pg_switch_wal()" >/dev/null
until_now() { json_field recoverableUntil "$(curl -fs -H "Authorization: Bearer $TOKEN" "127.0.0.1:$APP_PORT/api/v1/sources/main/pitr")"; }
while [[ ! "$(until_now)" > "$point" ]]; do sleep 0.5; done
wal_bytes=$(du -sb "$work/fs/main/wal" | cut -f1)

# (c) stock: the objects are on local disk already (the filesystem target); download = read them.
stock_restore() {
  mkdir -m 700 "$work/stock"; [ "$(id -u)" = 0 ] && chown postgres "$work/stock"
  # The stock base backup of (a), taken just before (b)'s last (Backstop's own is chunked: its
  # stock-tool recovery is the README's block, not one pipe); the WAL after it is in the archive.
  zstd -d < "$work/stock.tar.zst" | as_pg tar -x -C "$work/stock"
  W="$work/fs/main/wal"
  cat >> "$work/stock/postgresql.auto.conf" <<CONF
restore_command = 'for z in "$W"/*/%f.zst "$W"/*/%f.partial.zst; do if [ -f "\$z" ]; then exec zstd -dqf "\$z" -o "%p"; fi; done; exit 1'
recovery_target_time = '$(sed 's/T/ /; s/Z$/+00/' <<<"$point")'
recovery_target_action = 'promote'
archive_mode = off
port = $STOCK_PORT
CONF
  as_pg touch "$work/stock/recovery.signal"
  as_pg "$BIN/pg_ctl" -D "$work/stock" -l "$work/stock.log" -W start >/dev/null
  until [ "$("$BIN/psql" -h 127.0.0.1 -p $STOCK_PORT -U postgres -qAt -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; do
    as_pg "$BIN/pg_ctl" -D "$work/stock" status >/dev/null 2>&1 || { echo "stock recovery failed: $(tail -3 "$work/stock.log")" >&2; exit 1; }
    sleep 0.1
  done
}
[ "$(id -u)" = 0 ] && chmod -R o+rX "$work/fs"
sync; t0=$(now); stock_restore; tc=$(echo "$(now) - $t0" | bc)
stock_rows=$("$BIN/psql" -h 127.0.0.1 -p $STOCK_PORT -U postgres -qAt -c "SELECT count(*) FROM pg_class WHERE relname = 'after_point'")
as_pg "$BIN/pg_ctl" -D "$work/stock" -m immediate stop >/dev/null

sync; t0=$(now)
body=$(submit_and_wait "127.0.0.1:$APP_PORT/api/v1/restores" "{\"source\": \"main\", \"pointInTime\": \"$point\", \"mode\": \"new\",
  \"target\": {\"dataDirectory\": \"$work/restored\", \"port\": $RESTORE_PORT, \"start\": true}}")
td=$(echo "$(now) - $t0" | bc)
case "$body" in *'"phase":"COMPLETED"'*) ;; *) echo "restore failed: $body" >&2; exit 1 ;; esac
ours_rows=$("$BIN/psql" -h 127.0.0.1 -p $RESTORE_PORT -U postgres -qAt -c "SELECT count(*) FROM pg_class WHERE relname = 'after_point'")

mb=$(echo "$size / 1048576" | bc -l)
printf '\ncluster: %.0f MB; stock base tar.zst %s bytes; WAL after the base backup: %s MB stored\n' "$mb" \
  "$(stat -c %s "$work/stock.tar.zst")" "$((wal_bytes / 1048576))"
printf '%-60s %9s\n' run seconds
printf '%-60s %9.2f   (median of %s: %s)\n' "(a) pg_basebackup -Ft -X none | zstd -3 -T1 > file" "$ta" "$RUNS" "${ta_all[*]}"
printf '%-60s %9.2f   (median of %s: %s)\n' "(b) Backstop base backup -> filesystem (incl. WAL check)" "$tb" "$RUNS" "${tb_all[*]}"
printf '%-60s %9.2f\n' "(c) stock PITR: zstd|tar, restore_command zstd, pg_ctl" "$tc"
printf '%-60s %9.2f\n' "(d) Backstop PITR restore by REST call" "$td"
printf '\nratios: (b)/(a) = %.2f   (d)/(c) = %.2f\n' "$(echo "$tb / $ta" | bc -l)" "$(echo "$td / $tc" | bc -l)"
printf 'after_point visible (must be 0 in both): stock %s, Backstop %s\n' "$stock_rows" "$ours_rows"
echo "Backstop: $(json_field detail "$body")"
