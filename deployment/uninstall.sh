#!/usr/bin/env bash
# Removes the Backstop service. Keeps its data (/var/lib/backstop), configuration and secrets
# (/etc/backstop) and the backstop user unless --purge is given. Snapshots in storage targets are
# never touched.
# Usage (as root):  deployment/uninstall.sh [--purge]
# With DESTDIR=/some/root it only removes the files below that root (the tree install.sh staged
# there): no systemctl, no user. Anything else on the command line prints this usage and exits 2.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: deployment/uninstall.sh [--purge]
  removes the systemd unit and /opt/backstop; keeps /etc/backstop, /var/lib/backstop and the user
  --purge   also removes /etc/backstop (config, secrets), /var/lib/backstop (catalog, staging) and the user
  DESTDIR=/some/root  remove only below that root (a staged tree); no systemctl, no user
Snapshots in storage targets are never touched.
USAGE
}

purge=no
for arg in "$@"; do
  case "$arg" in
    --purge) purge=yes ;;
    -h|--help) usage; exit 2 ;;
    *) echo "uninstall.sh: unknown argument '$arg'" >&2; usage; exit 2 ;;
  esac
done

DESTDIR="${DESTDIR:-}"
[ -n "$DESTDIR" ] || [ "$(id -u)" = 0 ] || { echo "uninstall.sh must run as root (or set DESTDIR)" >&2; exit 2; }
[ -z "$DESTDIR" ] || [ -d "$DESTDIR" ] || { echo "uninstall.sh: DESTDIR $DESTDIR is not a directory" >&2; exit 2; }

if [ -z "$DESTDIR" ] && systemctl list-unit-files backstop.service >/dev/null 2>&1; then
  systemctl disable --now backstop.service >/dev/null 2>&1 || true
fi
rm -f "$DESTDIR/etc/systemd/system/backstop.service"
[ -n "$DESTDIR" ] || systemctl daemon-reload
rm -rf "$DESTDIR/opt/backstop"
if [ "$purge" = yes ]; then
  rm -rf "$DESTDIR/etc/backstop" "$DESTDIR/var/lib/backstop"
  if [ -z "$DESTDIR" ] && id backstop >/dev/null 2>&1; then userdel backstop; fi
  echo "Backstop removed${DESTDIR:+ from $DESTDIR}, with its configuration, catalog files${DESTDIR:+ (no user: DESTDIR)}${DESTDIR:- and user}."
else
  echo "Backstop removed${DESTDIR:+ from $DESTDIR}. Kept: $DESTDIR/etc/backstop (config, secrets), $DESTDIR/var/lib/backstop (data). --purge removes them."
fi
