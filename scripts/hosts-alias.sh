#!/usr/bin/env bash
# Give the loopback address a real-looking name, so clients that never proxy loopback addresses
# (every Go client: net/http skips the proxy for localhost and 127.0.0.1) still go through the
# recorder when they talk to a local server by that name. Also names a few virtual-host buckets,
# since /etc/hosts has no wildcards.
#
# Idempotent: adds only the lines that are missing. Needs root to write the hosts file.
# Usage: scripts/hosts-alias.sh [--check]   (--check only reports, exit 1 when a name is missing)
set -euo pipefail

HOSTS_FILE=${HOSTS_FILE:-/etc/hosts}
DOMAIN=s3.compat-diff.test
# Buckets the client drivers and tests use in virtual-host style.
BUCKETS=(cdtest-bucket cdtest-virtual cdtest-awscli cdtest-pyarrow cdtest-obstore cdtest-s5cmd cdtest-rclone
         cdtest-minio cdtest-s3cmd cdtest-s3fs cdtest-presigned cdtest-chunked)
NAMES=("$DOMAIN")
for bucket in "${BUCKETS[@]}"; do NAMES+=("$bucket.$DOMAIN"); done

missing=()
for name in "${NAMES[@]}"; do
  # A name counts as present when some non-comment line maps it to 127.0.0.1.
  if ! awk -v n="$name" '$1 == "127.0.0.1" { for (i = 2; i <= NF; i++) if ($i == n) found = 1 } END { exit !found }' \
      "$HOSTS_FILE"; then
    missing+=("$name")
  fi
done

if [[ ${1:-} == "--check" ]]; then
  if ((${#missing[@]})); then
    echo "hosts-alias: missing from $HOSTS_FILE: ${missing[*]}" >&2
    exit 1
  fi
  exit 0
fi

if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ ! -w $HOSTS_FILE ]]; then
  echo "hosts-alias: cannot write $HOSTS_FILE (run as root); missing: ${missing[*]}" >&2
  exit 1
fi
# Append in place rather than replace the file: in containers /etc/hosts is often a bind mount.
for name in "${missing[@]}"; do
  printf '127.0.0.1 %s  # compat-diff\n' "$name" >> "$HOSTS_FILE"
done
