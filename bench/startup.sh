#!/usr/bin/env bash
# Start-up time of the packaged jar on the shipped config.yml, to a ready /health/ready (200):
#   fresh    an empty directory: the H2 catalog is created and migrated
#   restart  the same directory again: the catalog exists and is current (what a systemd restart pays)
# each with and without the application class-data-sharing archive (-XX:SharedArchiveFile) that
# install.sh builds for the unit, alternated run by run, N of each; prints every run, the medians
# and the ratio with/without the archive.
# Usage: bench/startup.sh            (N=5; builds the jar if missing; ports 18180/18181 on 127.0.0.1)
#        N=9 bench/startup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

N="${N:-5}"
APP_PORT=18180 ADMIN_PORT=18181
JAVA_OPTS=(-Xms256m -Xmx512m -XX:+ExitOnOutOfMemoryError)   # as deployment/backstop.service
[ -f service/target/backstop.jar ] || mvn -q -B -DskipTests package
JAR="$PWD/service/target/backstop.jar"

work="$(mktemp -d /var/tmp/backstop-startup.XXXXXX)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Starts the service in $1 with the java options that follow; prints the milliseconds until
# /health/ready answered 200, then stops it (SIGTERM) and waits for it to exit.
start_once() {
  local dir="$1"; shift
  local t0 t1
  t0=$(date +%s%N)
  (cd "$dir" && exec java "${JAVA_OPTS[@]}" "$@" "-Ddw.server.applicationConnectors[0].port=$APP_PORT" \
      "-Ddw.server.adminConnectors[0].port=$ADMIN_PORT" -jar "$JAR" server config.yml >>"$dir/service.log" 2>&1) &
  pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$ADMIN_PORT/health/ready"; do
    if ! kill -0 "$pid" 2>/dev/null; then echo "the service exited; see $dir/service.log" >&2; tail -20 "$dir/service.log" >&2; exit 1; fi
    if [ $(( ($(date +%s%N) - t0) / 1000000000 )) -gt 120 ]; then echo "not ready after 120 s" >&2; exit 1; fi
    sleep 0.02
  done
  t1=$(date +%s%N)
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  echo $(( (t1 - t0) / 1000000 ))
}

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

fresh_dir() {
  local d
  d="$(mktemp -d "$work/run.XXXXXX")"
  cp config.yml "$d/config.yml"
  echo "$d"
}

# The archive, as install.sh builds it for the unit.
archive="$work/backstop.jsa"
echo "building the class-data-sharing archive (deployment/cds-archive.sh) ..."
deployment/cds-archive.sh "$JAR" "$archive"
ls -l "$archive" | awk '{printf "archive: %.1f MB\n", $5 / 1048576}'

declare -A runs
for i in $(seq 1 "$N"); do
  for mode in plain cds; do
    opts=(); [ "$mode" = cds ] && opts=("-XX:SharedArchiveFile=$archive" -Xshare:auto)
    d="$(fresh_dir)"
    f=$(start_once "$d" "${opts[@]}")
    r=$(start_once "$d" "${opts[@]}")
    runs[$mode.fresh]+="$f "
    runs[$mode.restart]+="$r "
    printf 'run %d %-5s fresh %5d ms  restart %5d ms\n' "$i" "$mode" "$f" "$r"
  done
done

echo
printf '%-8s %12s %12s %8s\n' "" "no archive" "archive" "ratio"
for kind in fresh restart; do
  a=$(tr ' ' '\n' <<<"${runs[plain.$kind]}" | grep . | median)
  b=$(tr ' ' '\n' <<<"${runs[cds.$kind]}" | grep . | median)
  printf '%-8s %9d ms %9d ms %7.2fx\n' "$kind" "$a" "$b" "$(echo "$b / $a" | bc -l)"
done
