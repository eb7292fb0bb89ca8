#!/usr/bin/env bash
# Restore of a PostgreSQL snapshot, side by side in one run:
#   (a) zstd -d < dump.zst | pg_restore -d newdb      the stock pipeline (a pipe: pg_restore cannot use -j)
#   (b) a Backstop restore from the filesystem target  (one streamed pass: SHA-256, decompress, into pg_restore on stdin)
#   (c) a Backstop restore from S3Proxy               (the same, plus the download)
# Usage: bench/restore.sh                 (SIZE_MB=800; needs PostgreSQL on 127.0.0.1:5432 with pgcrypto, zstd, curl, bc)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB="${SIZE_MB:-800}"
APP_PORT=18190 ADMIN_PORT=18191 S3_PORT=18192
# shellcheck source=bench/lib.sh
. bench/lib.sh

[ -f service/target/backstop.jar ] || mvn -q -B -DskipTests package
work="$(mktemp -d /var/tmp/backstop-bench.XXXXXX)"
db="backstop_bench_restore_$$"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  for d in "$db" "${db}_stock" "${db}_fs" "${db}_s3"; do
    psql -qAt -d postgres -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

echo "building $db (${SIZE_MB} MB) ..."
populate "$db" "$SIZE_MB"
start_s3proxy "$work" "$S3_PORT"; pids+=("$S3PROXY_PID")
write_config "$work" "$APP_PORT" "$ADMIN_PORT" "$S3_PORT" "sources:
  - {type: postgres, name: db-fs, target: fs, host: $PGHOST, port: $PGPORT, database: $db, user: $PGUSER}
  - {type: postgres, name: db-s3, target: s3, host: $PGHOST, port: $PGPORT, database: $db, user: $PGUSER}"
start_service "$work" "$work/config.yml" 256m "$ADMIN_PORT"; pids+=("$SERVICE_PID")

snap_fs=$(json_field id "$(submit_and_wait "127.0.0.1:$APP_PORT/api/v1/snapshots" '{"source": "db-fs"}')")
snap_s3=$(json_field id "$(submit_and_wait "127.0.0.1:$APP_PORT/api/v1/snapshots" '{"source": "db-s3"}')")
pg_dump -Fc -Z0 -d "$db" | zstd -q -3 -T1 > "$work/stock.dump.zst"

psql -qAt -d postgres -c "CREATE DATABASE ${db}_stock"
t0=$(now); zstd -q -d < "$work/stock.dump.zst" | pg_restore --no-owner -d "${db}_stock"; ta=$(echo "$(now) - $t0" | bc)

restore_seconds() { # snapshot database
  local body created finished
  body=$(submit_and_wait "127.0.0.1:$APP_PORT/api/v1/restores" \
         "{\"snapshotId\": \"$1\", \"target\": {\"database\": \"$2\"}, \"mode\": \"new\"}")
  case "$body" in *'"phase":"COMPLETED"'*) ;; *) echo "restore failed: $body" >&2; exit 1 ;; esac
  created=$(json_field createdAt "$body"); finished=$(json_field finishedAt "$body")
  echo "$(date -d "$finished" +%s.%N) - $(date -d "$created" +%s.%N)" | bc
}
tb=$(restore_seconds "$snap_fs" "${db}_fs")
tc=$(restore_seconds "$snap_s3" "${db}_s3")

for d in "${db}_stock" "${db}_fs" "${db}_s3"; do
  printf '%-40s %s rows\n' "$d" "$(psql -qAt -d "$d" -c 'SELECT count(*) FROM items')"
done
mb=$(echo "$(psql -qAt -d postgres -c "SELECT pg_database_size('$db')") / 1048576" | bc -l)
printf '\ndatabase %s: %.0f MB; %s cores\n' "$db" "$mb" "$(nproc)"
printf '%-52s %9s\n' run seconds
printf '%-52s %9.2f\n' "(a) zstd -d < dump.zst | pg_restore -d newdb" "$ta"
printf '%-52s %9.2f\n' "(b) Backstop restore from filesystem (streamed)" "$tb"
printf '%-52s %9.2f\n' "(c) Backstop restore from S3Proxy" "$tc"
printf '\nratios: (b)/(a) = %.2f   (c)/(a) = %.2f\n' "$(echo "$tb / $ta" | bc -l)" "$(echo "$tc / $ta" | bc -l)"
