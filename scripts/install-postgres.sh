#!/usr/bin/env bash
# PostgreSQL 15 server binaries for the compatibility service's scale-out tests (Debian packages;
# the tests start their own server on a free port and stop it by PID, no system service is used).
set -euo pipefail
if [ -x /usr/lib/postgresql/15/bin/postgres ]; then
    echo "postgresql-15 is installed"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install-postgres: run as root (or: sudo apt-get install postgresql-15) to run the PostgreSQL tests" >&2
    exit 0
fi
apt-get -o DPkg::Lock::Timeout=1800 update -qq
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=1800 install -y -qq --no-install-recommends postgresql-15
