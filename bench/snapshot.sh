#!/usr/bin/env bash
# Snapshot throughput of a PostgreSQL database, side by side in one run:
#   (a) pg_dump -Fc -Z0 > /dev/null                 the floor: what pg_dump alone costs
#   (b) pg_dump -Fc -Z0 | zstd -3 -T1 > file        the stock pipeline
#   (c) a Backstop snapshot to a filesystem target  (zstd-3, SHA-256, fsync + atomic rename)
#   (d) a Backstop snapshot to S3Proxy               (multipart upload, 16 MiB parts)
# and the service's peak RSS during (c)/(d) and during a snapshot of a database twice as large.
# Usage: bench/snapshot.sh                 (SIZE_MB=800; needs PostgreSQL on 127.0.0.1:5432, zstd, curl)
#        SIZE_MB=200 bench/snapshot.sh     (quicker, for a smoke run)
# Everything runs on 127.0.0.1 and is removed at the end (databases, files, processes).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MB="${SIZE_MB:-800}"
APP_PORT=18090 ADMIN_PORT=18091 S3_PORT=18092
HEAP="${HEAP:-256m}"
# shellcheck source=bench/lib.sh
. bench/lib.sh
# compression.workers for the service; unset: the service's default (one per core, at most 4).
# WORKERS=1 is the counterpart of zstd -T1.
WORKERS="${WORKERS:-}"
# compression.level for the service (3 is the default; the stock pipeline (b) stays at zstd -3).
LEVEL="${LEVEL:-3}"

[ -f service/target/backstop.jar ] || mvn -q -B -DskipTests package

work="$(mktemp -d /var/tmp/backstop-bench.XXXXXX)"
db1="backstop_bench_$$_a"; db2="backstop_bench_$$_b"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  psql -qAt -d postgres -c "DROP DATABASE IF EXISTS $db1 WITH (FORCE)" -c "DROP DATABASE IF EXISTS $db2 WITH (FORCE)" >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT


echo "building $db1 (${SIZE_MB} MB) and $db2 ($((SIZE_MB * 2)) MB) ..."
populate "$db1" "$SIZE_MB"
populate "$db2" "$((SIZE_MB * 2))"
size1=$(psql -qAt -d postgres -c "SELECT pg_database_size('$db1')")

mkdir -p "$work/fs"
start_s3proxy "$work" "$S3_PORT"; pids+=("$S3PROXY_PID")

write_config "$work" "$APP_PORT" "$ADMIN_PORT" "$S3_PORT" "compression: {level: $LEVEL${WORKERS:+, workers: $WORKERS}}
sources:
  - {type: postgres, name: db-fs, target: fs, host: $PGHOST, port: $PGPORT, database: $db1, user: $PGUSER}
  - {type: postgres, name: db-s3, target: s3, host: $PGHOST, port: $PGPORT, database: $db1, user: $PGUSER}
  - {type: postgres, name: db2-fs, target: fs, host: $PGHOST, port: $PGPORT, database: $db2, user: $PGUSER}"
start_service "$work" "$work/config.yml" "$HEAP" "$ADMIN_PORT"; pids+=("$SERVICE_PID")
service_pid=$SERVICE_PID

snapshot() { # source -> prints server-side seconds
  local body
  body=$(submit_and_wait "127.0.0.1:$APP_PORT/api/v1/snapshots" "{\"source\": \"$1\"}")
  case "$body" in *'"status":"COMPLETED"'*) ;; *) echo "snapshot of $1 failed: $body" >&2; exit 1 ;; esac
  json_field durationSeconds "$body"
}
hwm_kb() { awk '/VmHWM/ { print $2 }' "/proc/$service_pid/status"; }

sync; echo "warming the page cache with one pg_dump ..."
pg_dump -Fc -Z0 -d "$db1" > /dev/null

t0=$(now); pg_dump -Fc -Z0 -d "$db1" > /dev/null; ta=$(echo "$(now) - $t0" | bc)
t0=$(now); pg_dump -Fc -Z0 -d "$db1" | zstd -q -3 -T1 > "$work/stock.dump.zst"; tb=$(echo "$(now) - $t0" | bc)
rss_start=$(hwm_kb)
tc=$(snapshot db-fs); rss_c=$(hwm_kb)
td=$(snapshot db-s3); rss_d=$(hwm_kb)
t2=$(snapshot db2-fs); rss_2x=$(hwm_kb)

mb=$(echo "$size1 / 1048576" | bc -l)
printf '\ndatabase %s: %.0f MB on disk; stock dump.zst %s bytes\n' "$db1" "$mb" "$(stat -c %s "$work/stock.dump.zst")"
printf '%-44s %9s %9s\n' run "seconds" "MB/s"
printf '%-44s %9.2f %9.1f\n' "(a) pg_dump -Fc -Z0 > /dev/null" "$ta" "$(echo "$mb / $ta" | bc -l)"
printf '%-44s %9.2f %9.1f\n' "(b) pg_dump -Fc -Z0 | zstd -3 -T1 > file" "$tb" "$(echo "$mb / $tb" | bc -l)"
printf '%-44s %9.2f %9.1f\n' "(c) Backstop -> filesystem" "$tc" "$(echo "$mb / $tc" | bc -l)"
printf '%-44s %9.2f %9.1f\n' "(d) Backstop -> S3Proxy" "$td" "$(echo "$mb / $td" | bc -l)"
printf '%-44s %9.2f\n' "    Backstop -> filesystem, 2x database" "$t2"
printf '\nratios: (c)/(b) = %.2f   (c)/(a) = %.2f   (d)/(b) = %.2f\n' \
  "$(echo "$tc / $tb" | bc -l)" "$(echo "$tc / $ta" | bc -l)" "$(echo "$td / $tb" | bc -l)"
printf 'Backstop compression.level: %s, workers: %s\n' "$LEVEL" "${WORKERS:-default (one per core, at most 4)}"
printf 'service peak RSS (VmHWM, -Xmx%s): before %d MB, after (c) %d MB, after (d) %d MB, after 2x %d MB; growth 1x -> 2x: %d MB\n' \
  "$HEAP" $((rss_start / 1024)) $((rss_c / 1024)) $((rss_d / 1024)) $((rss_2x / 1024)) $(((rss_2x - rss_d) / 1024))
