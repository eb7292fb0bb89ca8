#!/usr/bin/env bash
# Restore of a PostgreSQL snapshot, side by side in one run, for databases of about SIZE_MB in the
# shapes SHAPES names: 1 (one large table), N (N tables of SIZE_MB/N with two indexes each), mixed
# (one table of 3/8 of SIZE_MB and six of 3/40 each, two indexes on every table). For each:
#   (a) zstd -d < dump.zst | pg_restore -d newdb      the stock pipeline (a pipe: pg_restore cannot use -j)
#   (b) a Backstop restore from the filesystem target
#   (c) a Backstop restore from S3Proxy
# and the peak size of Backstop's staging directory during (b) and (c): the extra disk a restore used.
# Usage: bench/restore.sh                 (SIZE_MB=800 SHAPES="1 8", or SHAPES="1 8 mixed"; needs PostgreSQL on 127.0.0.1:5432 with
#                                          pgcrypto, zstd, curl, bc)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB="${SIZE_MB:-800}"
SHAPES="${SHAPES:-1 8}"
APP_PORT=18190 ADMIN_PORT=18191 S3_PORT=18192
# shellcheck source=bench/lib.sh
. bench/lib.sh

[ -f service/target/backstop.jar ] || mvn -q -B -DskipTests package
work="$(mktemp -d /var/tmp/backstop-bench.XXXXXX)"
base="backstop_bench_restore_$$"
pids=()
dbs=()
cleanup() {
  local rc=$?
  if [ "$rc" != 0 ] && [ -f "$work/service.log" ]; then
    echo "--- last lines of the service log ($work/service.log) ---" >&2; tail -n 40 "$work/service.log" >&2
  fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  for d in "${dbs[@]}"; do
    psql -qAt -d postgres -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

sources="sources:"
for n in $SHAPES; do
  db="${base}_t$n"
  dbs+=("$db" "${db}_stock" "${db}_fs" "${db}_s3")
  echo "building $db (${SIZE_MB} MB in $n tables) ..."
  if [ "$n" = 1 ]; then populate "$db" "$SIZE_MB"
  elif [ "$n" = mixed ]; then populate_mixed "$db" "$SIZE_MB"
  else populate_tables "$db" "$SIZE_MB" "$n"; fi
  sources="$sources
  - {type: postgres, name: t$n-fs, target: fs, host: $PGHOST, port: $PGPORT, database: $db, user: $PGUSER}
  - {type: postgres, name: t$n-s3, target: s3, host: $PGHOST, port: $PGPORT, database: $db, user: $PGUSER}"
done
start_s3proxy "$work" "$S3_PORT"; pids+=("$S3PROXY_PID")
write_config "$work" "$APP_PORT" "$ADMIN_PORT" "$S3_PORT" "$sources"
start_service "$work" "$work/config.yml" 256m "$ADMIN_PORT"; pids+=("$SERVICE_PID")

# Before each timed restore: the previous one's dirty buffers written out, so no run pays for another's.
quiesce() { psql -qAt -d postgres -c "CHECKPOINT" >/dev/null; sync; }

restore_seconds() { # snapshot database -> "seconds peak_staging_bytes detail"
  local body created finished watcher peak_file="$work/peak"
  echo 0 > "$peak_file"
  ( peak=0; while :; do
      s=$(du -sb "$work/staging" 2>/dev/null | cut -f1); s=${s:-0}
      if [ "$s" -gt "$peak" ]; then peak=$s; echo "$peak" > "$peak_file"; fi
      sleep 0.2
    done ) & watcher=$!
  quiesce
  body=$(submit_and_wait "127.0.0.1:$APP_PORT/api/v1/restores" \
         "{\"snapshotId\": \"$1\", \"target\": {\"database\": \"$2\"}, \"mode\": \"new\"}")
  kill "$watcher" 2>/dev/null; wait "$watcher" 2>/dev/null || true
  case "$body" in *'"phase":"COMPLETED"'*) ;; *) echo "restore failed: $body" >&2; exit 1 ;; esac
  created=$(json_field createdAt "$body"); finished=$(json_field finishedAt "$body")
  echo "$(echo "$(date -d "$finished" +%s.%N) - $(date -d "$created" +%s.%N)" | bc) $(cat "$peak_file") $(json_field detail "$body" | sed -E 's/.* (with [^(]*).*/\1/')"
}

report=""
for n in $SHAPES; do
  db="${base}_t$n"
  completed_id() { # source -> the id of a new COMPLETED snapshot of it, or the script stops
    local body; body=$(submit_and_wait "127.0.0.1:$APP_PORT/api/v1/snapshots" "{\"source\": \"$1\"}")
    case "$body" in *'"status":"COMPLETED"'*) json_field id "$body" ;; *) echo "the snapshot of $1 failed: $body" >&2; return 1 ;; esac
  }
  snap_fs=$(completed_id "t$n-fs")
  snap_s3=$(completed_id "t$n-s3")
  pg_dump -Fc -Z0 -d "$db" | zstd -q -3 -T1 > "$work/stock.dump.zst"
  psql -qAt -d postgres -c "CREATE DATABASE ${db}_stock"
  quiesce
  t0=$(now); zstd -q -d < "$work/stock.dump.zst" | pg_restore --no-owner -d "${db}_stock"; ta=$(echo "$(now) - $t0" | bc)
  rm -f "$work/stock.dump.zst"
  read -r tb pb hb <<<"$(restore_seconds "$snap_fs" "${db}_fs")"
  read -r tc pc hc <<<"$(restore_seconds "$snap_s3" "${db}_s3")"
  [ -n "$tb" ] && [ -n "$tc" ] || { echo "a restore of t$n failed" >&2; exit 1; }
  for d in "${db}_stock" "${db}_fs" "${db}_s3"; do
    rows=$(psql -qAt -d "$d" -c "SELECT sum(n_live_tup) FROM pg_stat_user_tables" 2>/dev/null || echo '?')
    printf '%-50s %s tables, %s rows (stats)\n' "$d" "$(psql -qAt -d "$d" -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" "$rows"
  done
  mb=$(echo "$(psql -qAt -d postgres -c "SELECT pg_database_size('$db')") / 1048576" | bc -l)
  report="$report
database $db: $(printf '%.0f' "$mb") MB in $n tables; $(nproc) cores
$(printf '%-58s %9s %16s' run seconds 'peak staging MB')
$(printf '%-58s %9.2f %16s' "(a) zstd -d < dump.zst | pg_restore -d newdb" "$ta" -)
$(printf '%-58s %9.2f %16.0f' "(b) Backstop from filesystem: $hb" "$tb" "$(echo "$pb / 1048576" | bc -l)")
$(printf '%-58s %9.2f %16.0f' "(c) Backstop from S3Proxy: $hc" "$tc" "$(echo "$pc / 1048576" | bc -l)")
$(printf 'ratios: (b)/(a) = %.2f   (c)/(a) = %.2f' "$(echo "$tb / $ta" | bc -l)" "$(echo "$tc / $ta" | bc -l)")
"
done
echo "$report"
