"""The real candidate clouds compat_diff can start on this machine, and their lifecycle.

``start(name, base_dir)`` gives a RunningCandidate (endpoint, credentials, pids) once it answers;
``stop`` ends its processes; ``running([...], base_dir)`` does both around a ``with`` block;
``write_targets_toml`` turns started candidates into a targets file for ``replay``/``compare``.
"""

from compat_diff.candidates.base import CandidateSpec, Installed, LaunchContext, RunningCandidate
from compat_diff.candidates.lifecycle import (
    CANDIDATES,
    installed,
    is_healthy,
    lookup,
    running,
    start,
    start_many,
    stop,
)
from compat_diff.candidates.process import leftover_processes
from compat_diff.candidates.targets import secret_env_name, target_secrets, write_targets_toml
from compat_diff.candidates.versions import candidate_version

__all__ = [
    "CANDIDATES",
    "CandidateSpec",
    "Installed",
    "LaunchContext",
    "RunningCandidate",
    "candidate_version",
    "installed",
    "is_healthy",
    "leftover_processes",
    "lookup",
    "running",
    "secret_env_name",
    "start",
    "start_many",
    "stop",
    "target_secrets",
    "write_targets_toml",
]
