#!/usr/bin/env bash
# Memory as the repository grows (issue 21): the service's peak RSS after a snapshot into a
# repository of N chunks, and after the same-sized snapshot once the repository holds 10x as many.
# Each round writes STEP_MB of new random files (nothing deduplicates), so the chunk count grows by
# about STEP_MB each round (1 MiB chunks); the target is RSS growth under 64 MB from round 1 to 10.
# Usage: bench/dedup-memory.sh            (STEP_MB=200: ~200 chunks a round, 2,000 at the end)
#        STEP_MB=1000 bench/dedup-memory.sh   (10,000 chunks at the end; needs ~10 GB of disk)
set -euo pipefail
cd "$(dirname "$0")/.."

STEP_MB="${STEP_MB:-200}"
ROUNDS="${ROUNDS:-10}"
APP_PORT=18390 ADMIN_PORT=18391 S3_PORT=18392
HEAP="${HEAP:-256m}"
# shellcheck source=bench/lib.sh
. bench/lib.sh
[ -f service/target/backstop.jar ] || mvn -q -B -DskipTests package

work="$(mktemp -d /var/tmp/backstop-dedup-mem.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/fs" "$work/data"
write_config "$work" "$APP_PORT" "$ADMIN_PORT" "$S3_PORT" "sources:
  - {type: directory, name: files, target: fs, path: $work/data}"
start_service "$work" "$work/config.yml" "$HEAP" "$ADMIN_PORT"; pids+=("$SERVICE_PID")
service_pid=$SERVICE_PID
hwm_kb() { awk '/VmHWM/ { print $2 }' "/proc/$service_pid/status"; }
rss_kb() { awk '/VmRSS/ { print $2 }' "/proc/$service_pid/status"; }

printf '%6s %10s %12s %12s %10s\n' round chunks "VmRSS MB" "VmHWM MB" seconds
for round in $(seq 1 "$ROUNDS"); do
  rm -rf "$work/data"/*
  mkdir -p "$work/data/r$round"
  head -c $((STEP_MB * 1048576)) /dev/urandom | split -b 4m - "$work/data/r$round/part-"
  body=$(submit_and_wait "127.0.0.1:$APP_PORT/api/v1/snapshots" '{"source": "files"}')
  case "$body" in *'"status":"COMPLETED"'*) ;; *) echo "snapshot failed: $body" >&2; exit 1 ;; esac
  printf '%6d %10s %12d %12d %10s\n' "$round" "~$((round * STEP_MB))" $(( $(rss_kb) / 1024 )) $(( $(hwm_kb) / 1024 )) \
    "$(json_field durationSeconds "$body")"
  [ "$round" = 1 ] && first_hwm=$(hwm_kb)
done
printf '\npeak RSS growth from round 1 to round %d: %d MB (-Xmx%s; packs in the repository: %s)\n' "$ROUNDS" \
  $(( ($(hwm_kb) - first_hwm) / 1024 )) "$HEAP" "$(find "$work/fs/repository/packs" -type f | wc -l)"
