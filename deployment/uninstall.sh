#!/usr/bin/env bash
# Removes the Backstop service. Keeps its data (/var/lib/backstop), configuration and secrets
# (/etc/backstop) and the backstop user unless --purge is given. Snapshots in storage targets are
# never touched.
# Usage (as root):  deployment/uninstall.sh [--purge]
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "uninstall.sh must run as root" >&2; exit 2; }
purge=no
[ "${1:-}" = "--purge" ] && purge=yes

if systemctl list-unit-files backstop.service >/dev/null 2>&1; then
  systemctl disable --now backstop.service >/dev/null 2>&1 || true
fi
rm -f /etc/systemd/system/backstop.service
systemctl daemon-reload
rm -rf /opt/backstop
if [ "$purge" = yes ]; then
  rm -rf /etc/backstop /var/lib/backstop
  id backstop >/dev/null 2>&1 && userdel backstop
  echo "Backstop removed, with its configuration, catalog files and user."
else
  echo "Backstop removed. Kept: /etc/backstop (config, secrets), /var/lib/backstop (data). --purge removes them."
fi
