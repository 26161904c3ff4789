"""Recipe for the Ceph RADOS Gateway: one monitor, one memstore OSD and radosgw, all on loopback.

Every daemon runs in the foreground (``-f``) so its pid is the one we started and stopping its session
stops it; all state (monitor store, OSD dir, sockets, logs) lives under the run's directory and the
OSD keeps objects in memory. cephx is off: the S3 user's keys are the only credentials involved.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

from compat_diff.candidates.base import (
    CandidateSpec,
    Installed,
    LaunchContext,
    RunningCandidate,
    system_binaries,
)
from compat_diff.candidates.process import LOOPBACK

CEPH_ACCESS = "rgwaccess"
CEPH_SECRET = "rgwsecret"
_BINARIES = ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "monmaptool", "ceph")
# Unix sockets cannot have paths longer than this (sun_path is 108 bytes with its terminator).
_MAX_SOCKET_PATH = 100

_CEPH_CONF = """\
[global]
fsid = {fsid}
mon_host = {host}:{mon_port}
mon_initial_members = a
public_network = 127.0.0.0/8
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
run_dir = {run}
log_file = {base}/log/$name.log
admin_socket = {run}/$name.asok
pid_file = {run}/$name.pid
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_max_pg_per_osd = 1000
mon_warn_on_pool_no_redundancy = false
ms_bind_ipv4 = true
ms_bind_ipv6 = false
ms_bind_msgr1 = true
ms_bind_msgr2 = false

[mon.a]
mon_data = {base}/mon/a
public_addr = {host}
mon_addr = {host}:{mon_port}

[osd]
osd_data = {base}/osd/$id
osd_objectstore = memstore
memstore_device_bytes = 1073741824
public_addr = {host}
cluster_addr = {host}
# An OSD told to stop waits this long for the monitor's acknowledgement; memstore has nothing to save.
osd_mon_shutdown_timeout = 1
# The OSD is placed in the CRUSH map by the launcher; letting it also ask the monitor at start races
# with the monitor's first map and intermittently fails with "wrong fsid".
osd_crush_update_on_start = false
osd_class_update_on_start = false

[client.rgw.a]
rgw_frontends = beast endpoint={host}:{rgw_port}
rgw_data = {base}/rgw
rgw_dns_name = localhost
"""


def _installed() -> Installed:
    return system_binaries(_BINARIES, "the apt packages radosgw ceph-mon ceph-osd")


def _run_dir(base: Path) -> Path:
    """Where the admin sockets go: under the run directory unless its path is too long for a socket."""
    run = base / "run"
    if len(str(run / "client.admin.12345.asok")) <= _MAX_SOCKET_PATH:
        run.mkdir(parents=True, exist_ok=True)
        return run
    short = Path(tempfile.mkdtemp(prefix="cd-ceph-"))
    (base / "run").symlink_to(short, target_is_directory=True)
    return short


def _launch(ctx: LaunchContext) -> RunningCandidate:
    rgw_port = ctx.main_port()
    mon_port = ctx.port()
    base = ctx.data_dir
    for sub in ("mon", "osd", "log", "rgw"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    run = _run_dir(base)
    conf = base / "ceph.conf"
    fsid = str(uuid.uuid4())
    conf.write_text(
        _CEPH_CONF.format(fsid=fsid, host=LOOPBACK, mon_port=mon_port, rgw_port=rgw_port, base=base, run=run)
    )
    env = {"CEPH_CONF": str(conf)}
    ctx.server_logs.extend([base / "log" / "mon.a.log", base / "log" / "client.rgw.a.log"])

    def tool(name: str) -> str:
        return shutil.which(name) or name

    monmap = run / "monmap"
    ctx.run(
        "monmaptool",
        [
            tool("monmaptool"),
            "--create",
            "--clobber",
            "--fsid",
            fsid,
            "--addv",
            "a",
            f"[v1:{LOOPBACK}:{mon_port}]",
            str(monmap),
        ],
        env=env,
    )
    ctx.run("mon-mkfs", [tool("ceph-mon"), "--mkfs", "-i", "a", "--monmap", str(monmap)], env=env)
    ctx.spawn("mon", [tool("ceph-mon"), "-f", "-i", "a"], env=env)

    ceph = [tool("ceph"), "--connect-timeout", "20"]
    osd_uuid = str(uuid.uuid4())
    osd_id = ctx.run("osd-new", [*ceph, "osd", "new", osd_uuid], env=env).strip().splitlines()[-1]
    (base / "osd" / osd_id).mkdir(parents=True, exist_ok=True)
    ctx.run("osd-mkfs", [tool("ceph-osd"), "-i", osd_id, "--mkfs", "--osd-uuid", osd_uuid], env=env)
    ctx.run("crush", [*ceph, "osd", "crush", "add-bucket", "localhost", "host"], env=env)
    ctx.run("crush", [*ceph, "osd", "crush", "move", "localhost", "root=default"], env=env)
    ctx.run("crush", [*ceph, "osd", "crush", "add", f"osd.{osd_id}", "1.0", "host=localhost"], env=env)
    ctx.spawn("osd", [tool("ceph-osd"), "-f", "-i", osd_id], env=env)
    ctx.spawn("radosgw", [tool("radosgw"), "-f", "-n", "client.rgw.a"], env=env)
    # radosgw-admin waits for the gateway's pools, so it doubles as the wait for a working cluster.
    ctx.run(
        "user-create",
        [
            tool("radosgw-admin"),
            "user",
            "create",
            "--uid=test",
            "--display-name=test",
            f"--access-key={CEPH_ACCESS}",
            f"--secret={CEPH_SECRET}",
        ],
        env=env,
    )
    endpoint = f"http://{LOOPBACK}:{rgw_port}"
    ctx.wait_http(endpoint)
    return ctx.running(endpoint=endpoint, access_key=CEPH_ACCESS, secret_key=CEPH_SECRET)


CEPH = CandidateSpec(
    name="ceph",
    services=("s3",),
    description="Ceph RADOS Gateway over one monitor and one in-memory OSD",
    launch=_launch,
    check_installed=_installed,
    start_timeout=90.0,
    auth="signature",
)
