#!/usr/bin/env bash
# postgres-cluster WAL archiving under load, on a private PostgreSQL 15 cluster (initdb, own port):
# pgbench -c 4 -T $DURATION runs on the source while Backstop streams its WAL to the $TARGET target
# (S3Proxy by default; TARGET=fs for the filesystem). A sampler reads GET /api/v1/sources/main/pitr
# every 0.1 s (lagBytes, recoverableUntil) and the script reports, over the run:
#   archive lag        p50/p99/max of lagBytes (WAL written by the server, not yet in storage), and of
#                      the age of the newest recoverable point (now - recoverableUntil), in seconds
#   commit-to-durable  for every instant t of the run (50 ms grid): the first sample whose
#                      recoverableUntil >= t, minus t: how long a commit at t waited until a restore
#                      could reach it (resolution: the 0.1 s sampling). Target: p99 <= partialUploadEvery + 1 s.
# The stock reference beside it: pg_receivewal alone (no upload) has no storage durability to measure,
# so the bound is the issue's absolute one; the WAL volume pgbench wrote is printed for scale.
# Usage: bench/wal-throughput.sh      (DURATION=120 SCALE=50 EVERY=10s TARGET=s3)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-120}" SCALE="${SCALE:-50}" EVERY="${EVERY:-10s}" TARGET="${TARGET:-s3}"
BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
APP_PORT=18290 ADMIN_PORT=18291 S3_PORT=18292 SRC_PORT=18293
HEAP="${HEAP:-256m}"
# shellcheck source=bench/lib.sh
. bench/lib.sh
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

[ -f service/target/backstop.jar ] || mvn -q -B -DskipTests package
work="$(mktemp -d /var/tmp/backstop-bench-wal.XXXXXX)"; chmod 755 "$work"
[ "$(id -u)" = 0 ] && chown postgres "$work"
pids=()
cleanup() {
  # Newest first: the service stops before S3Proxy (it stores its WAL spool on the way out).
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; wait "${pids[i]}" 2>/dev/null || true; done
  [ -f "$work/src/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$work/src" -m immediate stop >/dev/null 2>&1 || true
  cp "$work/service.log" "${KEEP_LOG:-/dev/null}" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "initdb and pgbench -i -s $SCALE on 127.0.0.1:$SRC_PORT ..."
as_pg "$BIN/initdb" -D "$work/src" -U postgres -A trust --no-sync >/dev/null
printf "port = $SRC_PORT\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\nmax_wal_size = 4GB\n" >> "$work/src/postgresql.conf"
as_pg "$BIN/pg_ctl" -D "$work/src" -l "$work/src.log" -w start >/dev/null
SRC="-h 127.0.0.1 -p $SRC_PORT -U postgres"
"$BIN/pgbench" $SRC -i -q -s "$SCALE" postgres >/dev/null 2>&1

mkdir -p "$work/fs"
start_s3proxy "$work" "$S3_PORT"; pids+=("$S3PROXY_PID")
for _ in $(seq 1 100); do curl -s -o /dev/null "127.0.0.1:$S3_PORT" && break; sleep 0.2; done
write_config "$work" "$APP_PORT" "$ADMIN_PORT" "$S3_PORT" "sources:
  - {type: postgres-cluster, name: main, target: $TARGET, port: $SRC_PORT, user: postgres, binDirectory: $BIN, partialUploadEvery: $EVERY}"
start_service "$work" "$work/config.yml" "$HEAP" "$ADMIN_PORT"; pids+=("$SERVICE_PID")
pitr() { curl -fs -H "Authorization: Bearer $TOKEN" "127.0.0.1:$APP_PORT/api/v1/sources/main/pitr"; }
echo "taking a base backup (the window starts at its end) ..."
body=$(submit_and_wait "127.0.0.1:$APP_PORT/api/v1/snapshots" '{"source": "main"}')
case "$body" in *'"status":"COMPLETED"'*) ;; *) echo "base backup failed: $body" >&2; exit 1 ;; esac
until [ "$(json_field recoverableUntil "$(pitr)")" != null ]; do sleep 0.5; done

echo "pgbench -c 4 -T $DURATION with the sampler running ..."
lsn0=$("$BIN/psql" $SRC -qAt -c "SELECT pg_current_wal_lsn()")
# the time is taken after the answer: a wait is never under-reported
( while :; do b="$(pitr | tr -d '\n')"; printf '%s %s\n' "$(date +%s.%N)" "$b"; sleep 0.1; done ) > "$work/samples" &
sampler=$!; pids+=("$sampler")
t_start=$(now)
"$BIN/pgbench" $SRC -n -c 4 -j 2 -T "$DURATION" postgres > "$work/pgbench.out" 2>&1
t_end=$(now)
sleep "$(( ${EVERY%s} + 3 ))"   # the last partial upload of the run lands
kill "$sampler"; wait "$sampler" 2>/dev/null || true
wal_mb=$("$BIN/psql" $SRC -qAt -c "SELECT round((pg_current_wal_lsn() - '$lsn0') / 1048576.0)")

python3 - "$work/samples" "$t_start" "$t_end" "$EVERY" "$wal_mb" "$DURATION" "$(grep -E '^tps' "$work/pgbench.out" | head -1)" <<'PYEND'
import json, sys, bisect
from datetime import datetime
path, t0, t1, every, wal_mb, duration, tps = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]
def epoch(iso):
    iso = iso.replace('Z', '+00:00')
    if '.' in iso:
        head, frac = iso.split('.', 1)
        digits = ''.join(c for c in frac if c.isdigit())
        iso = head + '.' + digits[:6].ljust(6, '0') + frac[len(digits):]
    return datetime.fromisoformat(iso).timestamp()
samples = []
for line in open(path):
    at, _, body = line.partition(' ')
    try:
        j = json.loads(body)
    except ValueError:
        continue
    until = j.get('recoverableUntil')
    lag = j.get('archive', {}).get('lagBytes')
    samples.append((float(at), epoch(until) if until else None, lag))
run = [s for s in samples if t0 <= s[0] <= t1]
def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))] if values else float('nan')
lags = [s[2] for s in run if s[2] is not None and s[2] >= 0]
ages = [s[0] - s[1] for s in run if s[1] is not None]
# commit-to-durable: for t on a 50 ms grid, the first sample (at any time after t) whose until >= t.
covered = [(s[0], s[1]) for s in samples if s[1] is not None]
waits = []
t = t0 + 1.0
while t <= t1 - 1.0:
    w = next((at - t for at, until in covered if at >= t and until >= t), None)
    if w is None:
        waits.append(float('inf'))
    else:
        waits.append(w)
    t += 0.05
bound = float(every.rstrip('s')) + 1.0
print()
print(f"pgbench -c 4 -T {duration}: {tps}; WAL written {wal_mb} MB ({float(wal_mb) / float(duration):.1f} MB/s); "
      f"{len(run)} samples")
print(f"{'measure':<48} {'p50':>10} {'p99':>10} {'max':>10}")
print(f"{'archive lag, bytes (lagBytes)':<48} {pct(lags, 50):>10.0f} {pct(lags, 99):>10.0f} {max(lags) if lags else float('nan'):>10.0f}")
print(f"{'age of the newest recoverable point, s':<48} {pct(ages, 50):>10.2f} {pct(ages, 99):>10.2f} {max(ages) if ages else float('nan'):>10.2f}")
print(f"{'commit-to-durable, s':<48} {pct(waits, 50):>10.2f} {pct(waits, 99):>10.2f} {max(waits) if waits else float('nan'):>10.2f}")
p99 = pct(waits, 99)
print(f"\ncommit-to-durable p99 {p99:.2f} s vs target partialUploadEvery + 1 s = {bound:.0f} s: ratio {p99 / bound:.2f} "
      f"({'met' if p99 <= bound else 'NOT met'})")
PYEND
