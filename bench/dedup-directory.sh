#!/usr/bin/env bash
# A deduplicated directory backup, side by side with restic in one run (issue 21):
#   a directory of SIZE_MB (default 800) in FILES (default 2,000) files, half text, half random;
#   (1) first backup        restic backup   vs a Backstop snapshot (chunked, encrypted, filesystem target)
#   (2) 20 files rewritten, second backup of each: time and stored growth
#   (3) restore of the second backup into a new directory: restic restore vs a Backstop restore
# and the service's peak RSS. Both encrypt (restic always does; Backstop to a public key only).
# Usage: bench/dedup-directory.sh          (installs restic from Debian's packages when run as root; needs gpg, curl)
#        SIZE_MB=200 bench/dedup-directory.sh   (a quicker smoke run)
#        WARMUP=1 bench/dedup-directory.sh      (one snapshot of the same directory into a second
#                                                target first, and its restore, not timed: a service
#                                                that has run before)
# Everything runs on 127.0.0.1 and is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE_MB="${SIZE_MB:-800}"
FILES="${FILES:-2000}"
CHANGED="${CHANGED:-20}"
APP_PORT=18190 ADMIN_PORT=18191 S3_PORT=18192
HEAP="${HEAP:-256m}"
# shellcheck source=bench/lib.sh
. bench/lib.sh

need_peer restic
[ -f service/target/backstop.jar ] || mvn -q -B -DskipTests package

work="$(mktemp -d /var/tmp/backstop-dedup.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

echo "writing $SIZE_MB MB in $FILES files (half text, half random) ..."
mkdir -p "$work/data"
python3 - "$work/data" "$SIZE_MB" "$FILES" <<'PY'
import os, random, sys
root, size_mb, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = size_mb * 1024 * 1024 // files
words = [("w%05d" % i) for i in range(20000)]
rng = random.Random(1)
for i in range(files):
    d = os.path.join(root, "d%02d" % (i % 40))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d" % i), "wb") as f:
        if i % 2 == 0:
            text = []
            n = 0
            while n < per:
                line = " ".join(rng.choice(words) for _ in range(12)) + "\n"
                text.append(line)
                n += len(line)
            f.write("".join(text).encode()[:per])
        else:
            f.write(os.urandom(per))
PY
rewrite() { # rewrites CHANGED files, spread over the tree, with new random content of the same size
  local i f n step=$((FILES / CHANGED))
  for i in $(seq 0 $((CHANGED - 1))); do
    n=$((i * step + 1))
    f=$(printf '%s/data/d%02d/f%05d' "$work" $((n % 40)) "$n")
    head -c "$(stat -c %s "$f")" /dev/urandom > "$f.new" && mv "$f.new" "$f"
  done
}

# restic: a local repository, its default settings (zstd auto, 2 cores).
export RESTIC_REPOSITORY="$work/restic" RESTIC_PASSWORD=bench
restic init -q

# Backstop: encrypted to a public key only, chunked (the default), filesystem target.
export GNUPGHOME="$work/gnupg"; mkdir -m 700 "$GNUPGHOME"
# KEY=future-default (Curve25519, what the README recommends) or KEY=default (gpg 2.2: RSA-3072, ~4 ms per chunk to decrypt)
gpg --batch --quiet --passphrase '' --quick-gen-key bench@backstop.invalid "${KEY:-future-default}" default never 2>/dev/null
gpg --batch --armor --export bench@backstop.invalid > "$work/recipient.asc"
gpg --batch --armor --pinentry-mode loopback --passphrase '' --export-secret-keys bench@backstop.invalid > "$work/secret.asc"
mkdir -p "$work/fs"
encryption="encryption: {recipientKeyFile: $work/recipient.asc, privateKeyFile: $work/secret.asc}"
[ "${ENCRYPT:-1}" = 1 ] || encryption=""   # ENCRYPT=0: Backstop unencrypted (restic always encrypts)
write_config "$work" "$APP_PORT" "$ADMIN_PORT" "$S3_PORT" "$encryption
sources:
  - {type: directory, name: files, target: fs, path: $work/data}
  - {type: directory, name: warmup, target: warmup, path: $work/data}"
# WARMUP=1's snapshot goes to a repository of its own, so the timed first backup still stores everything.
sed -i "s|^    - {type: filesystem, name: fs, path: .*}|&\n    - {type: filesystem, name: warmup, path: $work/warmup}|" "$work/config.yml"
start_service "$work" "$work/config.yml" "$HEAP" "$ADMIN_PORT"; pids+=("$SERVICE_PID")
service_pid=$SERVICE_PID
hwm_kb() { awk '/VmHWM/ { print $2 }' "/proc/$service_pid/status"; }

snapshot() { # [source] -> "seconds id"
  local body
  body=$(submit_and_wait "127.0.0.1:$APP_PORT/api/v1/snapshots" "{\"source\": \"${1:-files}\"}")
  case "$body" in *'"status":"COMPLETED"'*) ;; *) echo "snapshot failed: $body" >&2; exit 1 ;; esac
  echo "$(json_field durationSeconds "$body") $(json_field id "$body")"
}
restic_backup() { local t0; t0=$(now); restic backup -q "$work/data" >/dev/null; echo "$(now) - $t0" | bc; }
du_b() { du -sb "$1" | cut -f1; }

echo "warming the page cache ..."
cat "$work"/data/*/* > /dev/null

if [ "${WARMUP:-0}" = 1 ]; then
  read -r warm warm_id < <(snapshot warmup)
  body=$(submit_and_wait "127.0.0.1:$APP_PORT/api/v1/restores" "{\"snapshotId\": \"$warm_id\", \"target\": {\"path\": \"$work/warm-restored\"}, \"mode\": \"new\"}")
  case "$body" in *'"phase":"COMPLETED"'*) ;; *) echo "warm-up restore failed: $body" >&2; exit 1 ;; esac
  rm -rf "$work/warm-restored"
  echo "warm-up snapshot and restore (not compared): snapshot $warm s"
fi
r1=$(restic_backup); rs1=$(du_b "$work/restic")
read -r b1 id1 < <(snapshot); bs1=$(du_b "$work/fs"); rss1=$(hwm_kb)
rewrite
r2=$(restic_backup); rs2=$(du_b "$work/restic")
read -r b2 id2 < <(snapshot); bs2=$(du_b "$work/fs"); rss2=$(hwm_kb)

t0=$(now); restic restore -q latest --target "$work/restic-restored" >/dev/null; rr=$(echo "$(now) - $t0" | bc)
body=$(submit_and_wait "127.0.0.1:$APP_PORT/api/v1/restores" "{\"snapshotId\": \"$id2\", \"target\": {\"path\": \"$work/backstop-restored\"}, \"mode\": \"new\"}")
case "$body" in *'"phase":"COMPLETED"'*) ;; *) echo "restore failed: $body" >&2; exit 1 ;; esac
br=$(python3 -c "import json,sys,datetime as d; b=json.loads(sys.argv[1]); p=lambda s: d.datetime.fromisoformat(s.replace('Z','+00:00')); print((p(b['finishedAt'])-p(b['startedAt'])).total_seconds())" "$body")
diff -r "$work/data" "$work/backstop-restored" >/dev/null || { echo "the Backstop restore differs from the directory" >&2; exit 1; }

printf '\n%s MB in %s files; %s files rewritten between the backups; %s\n' "$SIZE_MB" "$FILES" "$CHANGED" \
  "$([ "${WARMUP:-0}" = 1 ] && echo "service warmed by one snapshot and its restore" || echo "service freshly started")"
printf '%-36s %10s %10s %8s\n' case restic Backstop ratio
printf '%-36s %10.2f %10.2f %8.2f\n' "first backup, s" "$r1" "$b1" "$(echo "$b1 / $r1" | bc -l)"
printf '%-36s %10.2f %10.2f %8.2f\n' "second backup, s" "$r2" "$b2" "$(echo "$b2 / $r2" | bc -l)"
printf '%-36s %10.1f %10.1f %8.2f\n' "stored after first, MiB" "$(echo "$rs1 / 1048576" | bc -l)" "$(echo "$bs1 / 1048576" | bc -l)" "$(echo "$bs1 / $rs1" | bc -l)"
printf '%-36s %10.1f %10.1f %8.2f\n' "stored growth by second, MiB" "$(echo "($rs2 - $rs1) / 1048576" | bc -l)" "$(echo "($bs2 - $bs1) / 1048576" | bc -l)" "$(echo "($bs2 - $bs1) / ($rs2 - $rs1)" | bc -l)"
printf '%-36s %10.2f %10.2f %8.2f\n' "restore of the second, s" "$rr" "$br" "$(echo "$br / $rr" | bc -l)"
printf 'Backstop timings are the service'"'"'s own (durationSeconds, restore startedAt..finishedAt); restic'"'"'s are wall clock of the command.\n'
printf 'service peak RSS (VmHWM, -Xmx%s): after first %d MB, after second %d MB\n' "$HEAP" $((rss1 / 1024)) $((rss2 / 1024))
