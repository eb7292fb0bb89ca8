#!/usr/bin/env bash
# Installs or upgrades Backstop on a systemd host. Idempotent: run it again to upgrade the jar;
# existing /etc/backstop/config.yml and /etc/backstop/env are never overwritten.
# Usage (as root, from a checkout with the jar built):  deployment/install.sh [path/to/backstop.jar]
# With DESTDIR=/some/root it only lays the files out below that root (for packaging or an image
# build): no user, no ownership, no packages, no systemctl, no check. Running it twice gives the
# same tree.
set -euo pipefail
cd "$(dirname "$0")/.."

JAR="${1:-service/target/backstop.jar}"
DESTDIR="${DESTDIR:-}"
CONFIG="$DESTDIR/etc/backstop/config.yml"
ENV_FILE="$DESTDIR/etc/backstop/env"

[ -n "$DESTDIR" ] || [ "$(id -u)" = 0 ] || { echo "install.sh must run as root (or set DESTDIR to stage the files)" >&2; exit 2; }
[ -f "$JAR" ] || { echo "no jar at $JAR: build it first (mvn -B -q -DskipTests package)" >&2; exit 2; }
[ -n "$DESTDIR" ] || command -v systemctl >/dev/null || { echo "systemctl not found: this installer is for systemd hosts" >&2; exit 2; }

log() { printf '==> %s\n' "$*"; }

apt_install() {
  command -v apt-get >/dev/null || { echo "please install: $*" >&2; exit 2; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if [ -z "$DESTDIR" ]; then
  if ! command -v java >/dev/null || ! java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])'; then
    log "installing a Java 17 runtime"; apt-get update -qq; apt_install openjdk-17-jre-headless
  fi
  if ! id backstop >/dev/null 2>&1; then
    log "creating system user backstop"
    useradd --system --home-dir /var/lib/backstop --no-create-home --shell /usr/sbin/nologin backstop
  fi
  ROOT_GROUP=(-o root -g backstop)
  SERVICE_USER=(-o backstop -g backstop)
else
  ROOT_GROUP=()
  SERVICE_USER=()
fi

install -d -m 0755 "$DESTDIR/opt/backstop" "$DESTDIR/etc/systemd/system"
install -m 0644 "$JAR" "$DESTDIR/opt/backstop/backstop.jar.new" && mv "$DESTDIR/opt/backstop/backstop.jar.new" "$DESTDIR/opt/backstop/backstop.jar"
install -m 0644 README.md "$DESTDIR/opt/backstop/README.md"
install -d -m 0750 "${ROOT_GROUP[@]}" "$DESTDIR/etc/backstop"
install -d -m 0750 "${SERVICE_USER[@]}" "$DESTDIR/var/lib/backstop"
if [ ! -f "$CONFIG" ]; then
  log "installing $CONFIG from deployment/config.example.yml: edit it, then run this script again"
  install -m 0640 "${ROOT_GROUP[@]}" deployment/config.example.yml "$CONFIG"
fi
if [ ! -f "$ENV_FILE" ]; then
  log "installing $ENV_FILE from deployment/env.example: put the real secrets there"
  install -m 0640 "${ROOT_GROUP[@]}" deployment/env.example "$ENV_FILE"
fi
install -m 0644 deployment/backstop.service "$DESTDIR/etc/systemd/system/backstop.service"

if [ -n "$DESTDIR" ]; then
  log "staged below $DESTDIR; on the host, run install.sh without DESTDIR to add the user, check and start"
  exit 0
fi

# pg_dump is needed as soon as one source is a PostgreSQL database.
if grep -Eq '^[^#]*type:[[:space:]]*postgres' "$CONFIG" && ! command -v pg_dump >/dev/null; then
  log "installing postgresql-client (a postgres source is configured)"; apt-get update -qq; apt_install postgresql-client
fi

systemctl daemon-reload

# The class-data-sharing archive the unit starts with, for this jar (a stale one is ignored).
log "building the class-data-sharing archive for faster starts"
deployment/cds-archive.sh /opt/backstop/backstop.jar /opt/backstop/backstop.jsa || log "no archive built: starts are slower, nothing else changes"

log "checking the configuration and its dependencies as the service user"
. deployment/envfile.sh   # the secrets as systemd's EnvironmentFile= reads them (spaces and quotes included)
mapfile -d '' SECRETS < <(envfile_assignments "$ENV_FILE")
if ! setpriv --reuid=backstop --regid=backstop --init-groups \
     env "${SECRETS[@]}" \
     bash -c 'cd /var/lib/backstop && exec java -jar /opt/backstop/backstop.jar check /etc/backstop/config.yml'; then
  echo "check failed: fix the items marked 'fail' above (config: $CONFIG, secrets: $ENV_FILE), then run install.sh again" >&2
  exit 1
fi

systemctl enable backstop.service >/dev/null
if systemctl is-active --quiet backstop.service; then
  log "restarting backstop"; systemctl restart backstop.service
else
  log "starting backstop"; systemctl start backstop.service
fi
systemctl --no-pager --lines=0 status backstop.service || true
log "done: curl -s 127.0.0.1:8081/health/ready"
