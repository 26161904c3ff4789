"""Recipe for OpenStack Swift with its S3 API (s3api + tempauth), single node, on loopback.

Five processes: memcached and the account, container, object and proxy servers, every one on a free
port that is written into the generated configs and rings. Rings are built with Swift's own RingBuilder
into the run's own directory, so nothing under /etc/swift is read or changed.
"""

from __future__ import annotations

import getpass
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from compat_diff.candidates.base import (
    CandidateSpec,
    Installed,
    LaunchContext,
    RunningCandidate,
    system_binaries,
)
from compat_diff.candidates.process import LOOPBACK, tcp_answers

SWIFT_ACCESS = "test:tester"
SWIFT_SECRET = "testing"
_BINARIES = (
    "swift-ring-builder",
    "swift-proxy-server",
    "swift-account-server",
    "swift-container-server",
    "swift-object-server",
    "memcached",
)
_STORAGE = ("account", "container", "object")

_STORAGE_CONF = """\
[DEFAULT]
devices = {srv}
mount_check = false
disable_fallocate = true
bind_ip = {host}
bind_port = {port}
workers = 0
swift_dir = {etc}
log_name = {kind}-server
log_facility = LOG_LOCAL2
user = {user}

[pipeline:main]
pipeline = {kind}-server

[app:{kind}-server]
use = egg:swift#{kind}

[{kind}-replicator]
[{kind}-auditor]
{extra}"""

_PROXY_CONF = """\
[DEFAULT]
bind_ip = {host}
bind_port = {port}
workers = 0
swift_dir = {etc}
user = {user}
log_name = proxy-server

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth \
copy slo dlo versioned_writes symlink proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true

[filter:tempauth]
use = egg:swift#tempauth
user_admin_admin = admin .admin .reseller_admin
user_test_tester = testing .admin
user_test2_tester2 = testing2 .admin

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
s3_acl = false
dns_compliant_bucket_names = true
check_bucket_owner = false

[filter:healthcheck]
use = egg:swift#healthcheck
[filter:cache]
use = egg:swift#memcache
memcache_servers = {host}:{memcached_port}
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
[filter:versioned_writes]
use = egg:swift#versioned_writes
allow_versioned_writes = true
allow_object_versioning = true
[filter:symlink]
use = egg:swift#symlink
"""

_SWIFT_CONF = """\
[swift-hash]
swift_hash_path_suffix = compat-diff-suffix
swift_hash_path_prefix = compat-diff-prefix

[storage-policy:0]
name = Policy-0
default = yes
"""


def _installed() -> Installed:
    return system_binaries(
        _BINARIES, "the apt packages swift swift-proxy swift-object swift-container swift-account memcached"
    )


def _launch(ctx: LaunchContext) -> RunningCandidate:
    proxy_port = ctx.main_port()
    memcached_port = ctx.port()
    storage_ports = {kind: ctx.port() for kind in _STORAGE}
    etc = ctx.data_dir / "etc"
    srv = ctx.data_dir / "srv"
    etc.mkdir(parents=True, exist_ok=True)
    (srv / "sdb1").mkdir(parents=True, exist_ok=True)
    # Swift drops privileges to this user; as root the notes' "root" keeps file ownership simple.
    user = getpass.getuser()

    (etc / "swift.conf").write_text(_SWIFT_CONF)
    for kind, port in storage_ports.items():
        extra = {"object": "[object-updater]\n", "container": "[container-updater]\n"}.get(kind, "")
        conf = _STORAGE_CONF.format(
            srv=srv, host=LOOPBACK, port=port, etc=etc, kind=kind, user=user, extra=extra
        )
        (etc / f"{kind}-server.conf").write_text(conf)
    proxy = _PROXY_CONF.format(
        host=LOOPBACK, port=proxy_port, etc=etc, user=user, memcached_port=memcached_port
    )
    (etc / "proxy-server.conf").write_text(proxy)

    _build_rings(ctx, etc, storage_ports)

    memcached = [
        shutil.which("memcached") or "memcached",
        "-l",
        LOOPBACK,
        "-p",
        str(memcached_port),
        "-U",
        "0",
        "-m",
        "64",
    ]
    if os.geteuid() == 0:
        memcached += ["-u", "root"]  # memcached refuses to run as root unless told which user to keep
    ctx.spawn("memcached", memcached)
    for kind in (*_STORAGE, "proxy"):
        binary = shutil.which(f"swift-{kind}-server") or f"swift-{kind}-server"
        ctx.spawn(kind, [binary, str(etc / f"{kind}-server.conf"), "-v"])

    ctx.wait_until(f"memcached on port {memcached_port}", lambda: tcp_answers(memcached_port))
    for kind, port in storage_ports.items():
        ctx.wait_until(f"the {kind} server on port {port}", _answers_on(port))
    endpoint = f"http://{LOOPBACK}:{proxy_port}"
    ctx.wait_http(f"{endpoint}/healthcheck", status=200)
    return ctx.running(
        endpoint=endpoint,
        access_key=SWIFT_ACCESS,
        secret_key=SWIFT_SECRET,
        health_url=f"{endpoint}/healthcheck",
        health_status=200,
    )


# Builds all three rings in one interpreter: swift-ring-builder would need nine runs of about a
# second each for create, add and rebalance.
_RING_SCRIPT = """\
import sys
from swift.common.ring import RingBuilder
etc, host = sys.argv[1], sys.argv[2]
for spec in sys.argv[3:]:
    kind, port = spec.split("=")
    builder = RingBuilder(10, 1, 1)  # 2^10 partitions, one replica, min_part_hours 1
    builder.add_dev({"region": 1, "zone": 1, "ip": host, "port": int(port), "replication_ip": host,
                     "replication_port": int(port), "device": "sdb1", "weight": 1.0, "meta": ""})
    builder.rebalance()
    builder.save(f"{etc}/{kind}.builder")
    builder.get_ring().save(f"{etc}/{kind}.ring.gz")
"""


def _swift_python() -> str:
    """The interpreter Swift is installed for, read from swift-ring-builder's first line."""
    script = shutil.which("swift-ring-builder")
    if script:
        with open(script, "rb") as handle:
            first = handle.readline().decode(errors="replace")
        if first.startswith("#!"):
            parts = first[2:].split()
            if parts and not parts[0].endswith("/env"):
                return parts[0]
            if len(parts) > 1:
                return shutil.which(parts[1]) or parts[1]
    return "/usr/bin/python3"


def _build_rings(ctx: LaunchContext, etc: Path, storage_ports: dict[str, int]) -> None:
    ports = [f"{kind}={port}" for kind, port in storage_ports.items()]
    ctx.run("rings", [_swift_python(), "-c", _RING_SCRIPT, str(etc), LOOPBACK, *ports])


def _answers_on(port: int) -> Callable[[], bool]:
    return lambda: tcp_answers(port)


SWIFT = CandidateSpec(
    name="swift",
    services=("s3",),
    description="OpenStack Swift with the s3api middleware (proxy, account, container, object, memcached)",
    launch=_launch,
    check_installed=_installed,
    start_timeout=40.0,
    auth="signature",
)
