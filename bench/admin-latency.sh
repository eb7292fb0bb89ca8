#!/usr/bin/env bash
# Admin-port latency under load: /health/ready, / (the status page) and /metrics/prometheus, side by side with
# Dropwizard's /ping (the floor: same Jetty, same admin servlet stack, no work) in one run.
# The service runs on the shipped config.yml (ports moved). On a machine with 2+ cores the service
# and wrk are pinned to different cores (taskset), so the figures measure the service rather than
# its fight with the load generator for the same CPU; PIN=0 turns that off.
# Usage: bench/admin-latency.sh            (50 connections, 15 s per endpoint; needs wrk: apt-get install wrk)
#        CONNECTIONS=50 DURATION=15s PIN=1 bench/admin-latency.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS="${CONNECTIONS:-50}"
DURATION="${DURATION:-15s}"
PIN="${PIN:-1}"
APP_PORT="${APP_PORT:-18080}"
ADMIN_PORT="${ADMIN_PORT:-18081}"

command -v wrk >/dev/null || { echo "wrk is required: apt-get install wrk" >&2; exit 2; }
[ -f service/target/backstop.jar ] || mvn -q -B -DskipTests package

work="$(mktemp -d)"
cp config.yml "$work/"
service_cpu=(); load_cpu=(); THREADS=2
if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  last=$(( $(nproc) - 1 ))
  service_cpu=(taskset -c "0-$(( last - 1 ))"); load_cpu=(taskset -c "$last"); THREADS=1
fi
(cd "$work" && exec "${service_cpu[@]}" java -Ddw.server.applicationConnectors[0].port="$APP_PORT" \
  -Ddw.server.adminConnectors[0].port="$ADMIN_PORT" \
  -jar "$OLDPWD/service/target/backstop.jar" server config.yml >"$work/service.log" 2>&1) &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT

for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$ADMIN_PORT/health/ready" >/dev/null && break
  sleep 0.2
done
curl -fs "http://127.0.0.1:$ADMIN_PORT/health/ready" >/dev/null || { cat "$work/service.log"; exit 1; }

# p50, p99 (ms) and requests/s from wrk --latency output.
measure() {
  local out
  out="$("${load_cpu[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$ADMIN_PORT$1")"
  awk -v path="$1" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    $1 == "Requests/sec:" { rps = $2 }
    /Non-2xx/ { bad = $NF }
    END { printf "%-22s %10.3f %10.3f %12.0f %8s\n", path, p50, p99, rps, (bad == "" ? 0 : bad) }' <<<"$out"
}

# Warm the JIT so the first endpoint measured is not penalised.
for path in /ping /health/ready / /metrics/prometheus; do
  "${load_cpu[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d5s "http://127.0.0.1:$ADMIN_PORT$path" >/dev/null
done

echo "wrk: $THREADS thread(s), $CONNECTIONS connections, $DURATION per endpoint; $(nproc) cores; service on: ${service_cpu[*]:-any core}; wrk on: ${load_cpu[*]:-any core}"
printf "%-22s %10s %10s %12s %8s\n" endpoint "p50 ms" "p99 ms" "req/s" "non-2xx"
ping_line="$(measure /ping)"; echo "$ping_line"
ready_line="$(measure /health/ready)"; echo "$ready_line"
status_line="$(measure /)"; echo "$status_line"
metrics_line="$(measure /metrics/prometheus)"; echo "$metrics_line"
awk -v a="$ready_line" -v b="$ping_line" 'BEGIN { split(a, r); split(b, p);
  printf "ratio /health/ready vs /ping: p99 %.2fx, throughput %.2fx\n", r[3] / p[3], r[4] / p[4] }'
awk -v a="$status_line" -v b="$ping_line" 'BEGIN { split(a, r); split(b, p);
  printf "ratio / (status page) vs /ping: p99 %.2fx, throughput %.2fx\n", r[3] / p[3], r[4] / p[4] }'
