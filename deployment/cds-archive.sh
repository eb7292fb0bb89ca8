#!/usr/bin/env bash
# Builds the class-data-sharing archive that backstop.service starts with (-XX:SharedArchiveFile):
# one start of the jar on the embedded default config.yml in a temporary directory (ports chosen by
# the kernel, 127.0.0.1 only), stopped cleanly once it serves; on exit the JVM writes the classes it
# loaded. A start then maps them instead of loading and verifying them again (bench/startup.sh:
# about a third off the time to ready). A missing or stale archive is ignored by the JVM, so this
# only ever makes starts faster; install.sh runs it whenever it installs a jar.
# Usage: deployment/cds-archive.sh path/to/backstop.jar path/to/backstop.jsa
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: $0 JAR ARCHIVE" >&2; exit 2; }
JAR="$(realpath "$1")"
OUT="$(realpath -m "$2")"

train="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$train"
}
trap cleanup EXIT

cp config.yml "$train/config.yml"
# The same heap options as backstop.service: the archive is used by the JVM that the unit starts.
(cd "$train" && exec java -Xms256m -Xmx512m -XX:+ExitOnOutOfMemoryError "-XX:ArchiveClassesAtExit=$OUT.new" \
    "-Ddw.server.applicationConnectors[0].port=0" "-Ddw.server.adminConnectors[0].port=0" \
    -jar "$JAR" server config.yml >"$train/service.log" 2>&1) &
pid=$!
admin=""
for _ in $(seq 1 1200); do
  admin="$(sed -n 's/.*Started admin@[^{]*{[^}]*}{127\.0\.0\.1:\([0-9]*\)}.*/\1/p' "$train/service.log" | head -n 1)"
  [ -n "$admin" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then echo "cds-archive: the training start failed:" >&2; tail -20 "$train/service.log" >&2; exit 1; fi
  sleep 0.1
done
[ -n "$admin" ] || { echo "cds-archive: not started within 120 s" >&2; exit 1; }
# What the first minutes of a service load too: a health round, the status page, a scrape.
for path in /health/ready /health/detailed / /metrics/prometheus; do
  curl -s -o /dev/null "http://127.0.0.1:$admin$path" || true
done
kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
pid=""
[ -s "$OUT.new" ] || { echo "cds-archive: the JVM wrote no archive" >&2; exit 1; }
mv -f "$OUT.new" "$OUT"
