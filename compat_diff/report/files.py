"""Writing report files safely: every report file is written to a temporary file in its own
directory and renamed over its name once complete, so a reader (a CI job, a browser, the next
``compat-diff report``) sees the old file or the new one, never half of one.

A report directory that cannot be used (a file stands there, it is read-only, the disk is full)
is one sentence and an exit status (2 for the path given, 3 for the machine), and a failed write
leaves no temporary file behind.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from compat_diff.errors import CannotRun, InputError

_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EFBIG: "the file grew past the size this process may write",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


# What a write into an already open file fails with: the machine's problem, not the input's.
_WRITE_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def is_write_failure(error: OSError) -> bool:
    """Whether ``error`` says the disk could not take more (rather than an input that is missing)."""
    return error.errno in _WRITE_FAILURES


def cannot_write(path: Path, error: OSError) -> CannotRun:
    """The one sentence for a failed write of ``path``."""
    reason = _REASONS.get(error.errno or 0) or error.strerror or str(error)
    return CannotRun(f"cannot write {path}: {reason}.")


def report_directory(path: Path) -> Path:
    """``path`` as a usable report directory, created when missing."""
    if path.exists() and not path.is_dir():
        raise InputError(f"the report directory {path} exists and is not a directory.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        if isinstance(error, FileExistsError) or error.errno == errno.ENOTDIR:
            raise InputError(
                f"the report directory {path} cannot be created: a file is in the way."
            ) from None
        reason = _REASONS.get(error.errno or 0) or error.strerror or str(error)
        raise CannotRun(f"cannot create the report directory {path}: {reason}.") from None
    return path


@contextmanager
def atomic_output(path: Path, buffering: int = -1) -> Iterator[IO[bytes]]:
    """A binary file to write ``path`` through: renamed over ``path`` when the block completes,
    removed when it fails. An ``OSError`` becomes :class:`CannotRun` with one sentence."""
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except OSError as error:
        raise cannot_write(path, error) from None
    try:
        with os.fdopen(handle, "wb", buffering=buffering) as out:
            yield out
    except OSError as error:
        _remove(temporary)
        # The block may also read (a file it copies): only a failed write is this file's problem.
        if is_write_failure(error):
            raise cannot_write(path, error) from None
        raise
    except BaseException:
        _remove(temporary)
        raise
    try:
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as error:
        _remove(temporary)
        raise cannot_write(path, error) from None


def write_file(path: Path, data: bytes | str) -> Path:
    """Write ``data`` (text is UTF-8) to ``path`` atomically; returns ``path``."""
    with atomic_output(path) as out:
        out.write(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def write_with(path: Path, writer: Callable[[IO[bytes]], object]) -> Path:
    """Let ``writer`` stream into ``path``, atomically; returns ``path``."""
    with atomic_output(path) as out:
        writer(out)
    return path


def _remove(temporary: str) -> None:
    try:
        os.unlink(temporary)
    except OSError:
        pass
