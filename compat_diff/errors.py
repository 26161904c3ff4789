"""The few exceptions compat_diff raises on purpose, each carrying a message a user can act on.

The command line turns them into one sentence on stderr and the exit code they name; anything
else is a bug and is shown as such (with a traceback only under ``--debug``).
"""

from __future__ import annotations

from compat_diff.model import ExitStatus


class CompatDiffError(Exception):
    """Base class: ``str(error)`` is the sentence shown to the user."""

    exit_status: ExitStatus = ExitStatus.USAGE


class InputError(CompatDiffError):
    """Bad input from the user: a damaged recording, a bad rule file, a bad target."""

    exit_status = ExitStatus.USAGE


class RecordingError(InputError):
    """A recording cannot be read (wrong format, unknown version, missing file)."""


class RuleError(InputError):
    """A normalizer rule file is invalid; the message names the file and the rule id."""


class TargetError(InputError):
    """A target definition is invalid; the message names the key and the problem."""


class CannotRun(CompatDiffError):
    """The job could not run at all (nothing reachable, a server that would not start)."""

    exit_status = ExitStatus.CANNOT_RUN


class RecorderFailure(CannotRun):
    """The recorder could not write its file, so it stopped instead of passing traffic unrecorded."""
