#!/usr/bin/env bash
# Installs Debian's Chromium for the report's browser tests (Playwright drives it; it never downloads a browser).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != "0" ]; then
  echo "chromium is missing: install Debian's 'chromium' package (as root: apt-get install chromium)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Another installer (the candidates' apt step, unattended upgrades) may hold the dpkg lock: wait for it.
APT=(apt-get -o DPkg::Lock::Timeout=1800)
"${APT[@]}" update -q >/dev/null
"${APT[@]}" install -y -q chromium >/dev/null
