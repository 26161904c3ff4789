"""A PostgreSQL server for one test: Debian's postgresql-15 binaries on a free loopback port, in
a fresh directory, stopped by PID. As root it runs as the ``postgres`` user (PostgreSQL refuses
to run as root)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from compat_diff.testing import free_port, stop_process

BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass
class Postgres:
    url: str
    process: subprocess.Popen[bytes]
    folder: Path

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in (self.folder / "db").rglob("*") if p.is_file())

    def stop(self) -> None:
        stop_process(self.process)
        shutil.rmtree(self.folder, ignore_errors=True)


def _as_owner() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def start_postgres() -> Postgres:
    if not (BIN / "postgres").exists():
        raise RuntimeError("PostgreSQL 15 is not installed: run scripts/install-postgres.sh (make test does)")
    folder = Path(tempfile.mkdtemp(prefix="compat-diff-pg-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    subprocess.run(
        [
            *_as_owner(),
            str(BIN / "initdb"),
            "-D",
            str(folder / "db"),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    process = subprocess.Popen(
        [
            *_as_owner(),
            str(BIN / "postgres"),
            "-D",
            str(folder / "db"),
            "-p",
            str(port),
            "-k",
            str(folder),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(folder / "log").open("wb") if os.geteuid() != 0 else subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while (
        subprocess.run(
            [str(BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True
        ).returncode
        != 0
    ):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            raise RuntimeError("PostgreSQL did not start")
        time.sleep(0.2)
    return Postgres(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", process, folder)
