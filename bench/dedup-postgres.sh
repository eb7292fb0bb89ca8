#!/usr/bin/env bash
# Logical snapshots of a PostgreSQL database into the deduplicated repository (issue 21), side by
# side in one run:
#   (1) the first snapshot with the shipped defaults (chunked, zstd-3) vs the stock
#       `pg_dump -Fc -Z0 | zstd -3 -T1 > file` pipe, and the same snapshot as one object (format: object)
#   (2) 2% of the rows updated, then a second snapshot: the stored growth, as a share of the first,
#       for an update of a contiguous range of ids and for one scattered over the table (every 50th row)
# and the service's peak RSS. Data: lib.sh's rows (~1 KB each, a quarter random bytes).
# Usage: bench/dedup-postgres.sh          (SIZE_MB=800; needs PostgreSQL on 127.0.0.1:5432, zstd, curl)
#        SIZE_MB=200 bench/dedup-postgres.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MB="${SIZE_MB:-800}"
APP_PORT=18290 ADMIN_PORT=18291 S3_PORT=18292
HEAP="${HEAP:-256m}"
# shellcheck source=bench/lib.sh
. bench/lib.sh
[ -f service/target/backstop.jar ] || mvn -q -B -DskipTests package

work="$(mktemp -d /var/tmp/backstop-dedup-pg.XXXXXX)"
db="backstop_dedup_$$"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  psql -qAt -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "building $db ($SIZE_MB MB) ..."
populate "$db" "$SIZE_MB"
rows=$(psql -qAt -d "$db" -c "SELECT count(*) FROM items")

mkdir -p "$work/fs" "$work/obj"
write_config "$work" "$APP_PORT" "$ADMIN_PORT" "$S3_PORT" "sources:
  - {type: postgres, name: db, target: fs, host: $PGHOST, port: $PGPORT, database: $db, user: $PGUSER}
  - {type: postgres, name: db-object, target: fs, format: object, host: $PGHOST, port: $PGPORT, database: $db, user: $PGUSER}"
start_service "$work" "$work/config.yml" "$HEAP" "$ADMIN_PORT"; pids+=("$SERVICE_PID")
service_pid=$SERVICE_PID
hwm_kb() { awk '/VmHWM/ { print $2 }' "/proc/$service_pid/status"; }
snapshot() { # source -> "seconds addedBytes"
  local body
  body=$(submit_and_wait "127.0.0.1:$APP_PORT/api/v1/snapshots" "{\"source\": \"$1\"}")
  case "$body" in *'"status":"COMPLETED"'*) ;; *) echo "snapshot of $1 failed: $body" >&2; exit 1 ;; esac
  echo "$(json_field durationSeconds "$body") $(json_field addedBytes "$body")"
}

echo "warming the page cache with one pg_dump ..."
pg_dump -Fc -Z0 -d "$db" > /dev/null
t0=$(now); pg_dump -Fc -Z0 -d "$db" | zstd -q -3 -T1 > "$work/stock.dump.zst"; tstock=$(echo "$(now) - $t0" | bc)
read -r tobj _ < <(snapshot db-object)
read -r t1 added1 < <(snapshot db)
t0=$(now); pg_dump -Fc -Z0 -d "$db" | zstd -q -3 -T1 > "$work/stock2.dump.zst"; tstock2=$(echo "$(now) - $t0" | bc)
rss1=$(hwm_kb)

n=$((rows / 50))
psql -qAt -d "$db" -c "UPDATE items SET qty = qty + 1, label = label || ' changed' WHERE id <= $n" >/dev/null
read -r t2 added2 < <(snapshot db)
psql -qAt -d "$db" -c "UPDATE items SET qty = qty + 1, label = label || ' again' WHERE id % 50 = 25" >/dev/null
read -r t3 added3 < <(snapshot db)
rss3=$(hwm_kb)

printf '\ndatabase %s: %s MB, %s rows; stock dump.zst %s bytes\n' "$db" "$SIZE_MB" "$rows" "$(stat -c %s "$work/stock.dump.zst")"
printf '%-58s %9s %12s\n' run seconds "stored bytes"
printf '%-58s %9.2f %12s\n' "stock pg_dump -Fc -Z0 | zstd -3 -T1 > file (mean of 2)" "$(echo "($tstock + $tstock2) / 2" | bc -l)" "$(stat -c %s "$work/stock.dump.zst")"
printf '%-58s %9.2f\n' "Backstop, format: object" "$tobj"
printf '%-58s %9.2f %12s\n' "Backstop, shipped defaults (chunked), first" "$t1" "$added1"
printf '%-58s %9.2f %12s\n' "  second, after 2% of rows updated (one id range)" "$t2" "$added2"
printf '%-58s %9.2f %12s\n' "  third, after 2% of rows updated (every 50th row)" "$t3" "$added3"
printf '\nratios: first snapshot / stock pipe = %.2f   object / stock pipe = %.2f\n' \
  "$(echo "$t1 * 2 / ($tstock + $tstock2)" | bc -l)" "$(echo "$tobj * 2 / ($tstock + $tstock2)" | bc -l)"
printf 'stored growth / first: id range %.3f   scattered %.3f\n' "$(echo "$added2 / $added1" | bc -l)" "$(echo "$added3 / $added1" | bc -l)"
printf 'service peak RSS (VmHWM, -Xmx%s): after the first %d MB, after the third %d MB\n' "$HEAP" $((rss1 / 1024)) $((rss3 / 1024))
