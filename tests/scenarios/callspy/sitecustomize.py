"""Test-only spy: logs every botocore call made by this process (boto3 scripts and the AWS CLI alike).

Put this directory on ``PYTHONPATH`` and set ``COMPAT_DIFF_CALL_LOG`` to a file; each API call then
appends one JSON line ``{"service", "operation", "status", "code"}`` from botocore's ``after-call``
event, which is how the scenario tests count distinct operations without touching the scripts.
"""

from __future__ import annotations

import json
import os

_LOG = os.environ.get("COMPAT_DIFF_CALL_LOG")

if _LOG:
    import botocore.session

    _log_path: str = _LOG

    _original_init = botocore.session.Session.__init__

    def _log_call(http_response, parsed, model, **_kwargs):  # type: ignore[no-untyped-def]
        error = parsed.get("Error", {}) if isinstance(parsed, dict) else {}
        line = {
            "service": model.service_model.service_name,
            "operation": model.name,
            "status": getattr(http_response, "status_code", None),
            "code": error.get("Code"),
        }
        with open(_log_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")

    def _spying_init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        _original_init(self, *args, **kwargs)
        self.register("after-call", _log_call)

    botocore.session.Session.__init__ = _spying_init  # type: ignore[method-assign]
