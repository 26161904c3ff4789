#!/usr/bin/env bash
# Record OpenStack's own EC2 API test suite (ec2api-tempest-plugin 1.7.0 on tempest 47.0.0) through
# `compat-diff record` against a moto server (the stand-in for AWS), as a third-party traffic
# generator for the EC2 candidates. See docs/scenarios.md.
#
#   scripts/record-ec2api-tempest.sh OUT.jsonl [EXTRA TEMPEST RUN ARGS...]
#
# tempest lives in .work/tempest (its own virtualenv, made on first use). A moto server is started on
# a free loopback port and stopped by its pid at the end. test_create_max_network_interface is left
# out: it creates network interfaces until the subnet is full, and moto never says it is.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:?usage: scripts/record-ec2api-tempest.sh OUT.jsonl [tempest run args...]}"; shift
OUT="$(realpath -m "$OUT")"
PY="$ROOT/.venv/bin/python"
TV="$ROOT/.work/tempest"
WS="$(mktemp -d)"
if [ ! -x "$TV/bin/tempest" ]; then
  python3 -m venv "$TV"
  "$TV/bin/pip" install -q tempest==47.0.0 ec2api-tempest-plugin==1.7.0
fi
PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$PY" -m moto.server -H 127.0.0.1 -p "$PORT" >"$WS/moto.log" 2>&1 &
MOTO=$!
# tempest keeps a registry of workspaces by name: a unique one per run, removed again at the end
NAME="compat-diff-$(basename "$WS")"
trap 'kill "$MOTO" 2>/dev/null || true; "$TV/bin/tempest" workspace remove --name "$NAME" >/dev/null 2>&1 || true; rm -rf "$WS"' EXIT
URL="http://127.0.0.1:$PORT"
for _ in $(seq 100); do curl -s -o /dev/null "$URL/moto-api/" && break; sleep 0.2; done
IMAGE="$(AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "$TV/bin/python" -c "
import botocore.session
ec2 = botocore.session.get_session().create_client('ec2', endpoint_url='$URL', region_name='us-east-1')
print(sorted(i['ImageId'] for i in ec2.describe_images(Owners=['amazon'])['Images'])[0])")"
"$TV/bin/tempest" init --name "$NAME" "$WS/ws" >/dev/null
cat >"$WS/ws/etc/tempest.conf" <<EOC
[DEFAULT]
log_dir = $WS/ws/logs
[oslo_concurrency]
lock_path = $WS/ws/lock
[service_available]
ec2api = True
[aws]
ec2_url = $URL/
s3_url = $URL/
aws_access = testing
aws_secret = testing
aws_region = us-east-1
aws_zone = us-east-1a
image_id = $IMAGE
instance_type = t2.micro
instance_type_alt = t2.nano
run_ssh = False
run_incompatible_tests = False
run_long_tests = False
build_timeout = 30
build_interval = 1
EOC
cd "$WS/ws"
# tempest exits 1 when tests fail (against moto, about a quarter do); the recording is complete anyway.
"$ROOT/.venv/bin/compat-diff" record --out "$OUT" --confdir "$WS/ca" \
  --label "reference=moto server (stand-in for AWS)" \
  --label "client=ec2api-tempest-plugin 1.7.0 on tempest 47.0.0" \
  -- "$TV/bin/tempest" run --regex '^ec2api_tempest_plugin\.api' --concurrency 1 \
     --exclude-regex 'test_create_max_network_interface' "$@" || status=$?
echo "recorded into $OUT (tempest exit status ${status:-0})"
