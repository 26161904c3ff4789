"""Each client's recording, replayed with `compat-diff compare`: a fresh moto answers exactly as
recorded (no counted divergence), and SeaweedFS, which checks every signature, accepts every
re-signed request as authentic.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conftest import Moto, answers, compat_diff, record_client, write_targets
from tests.clients.test_client_record import CASES, Case, case_id

# What a server says when it does not believe who signed a request.
AUTH_ERRORS = (
    "SignatureDoesNotMatch",
    "AccessDenied",
    "InvalidAccessKeyId",
    "AuthorizationHeaderMalformed",
    "AuthorizationQueryParametersError",
    "MissingSecurityHeader",
    "RequestTimeTooSkewed",
    "ExpiredToken",
)

REPLAY_CASES = [
    *CASES,
    Case("minio", "cdtest-virtual", frozenset(), driver_args=("--addressing", "virtual")),
    Case("s3cmd", "cdtest-bucket", frozenset(), driver_args=("--signature", "v2", "--addressing", "virtual")),
]


def _authentication_failures(replayed: dict[int, dict[str, Any]]) -> list[tuple[int, int, str]]:
    failures = []
    for seq, answer in sorted(replayed.items()):
        if answer.get("outcome") == "transport":
            failures.append((seq, 0, json.dumps(answer.get("error"))))
            continue
        response = answer.get("response") or {}
        text = json.dumps(response.get("body", {}))
        if response.get("status") == 403 or any(code in text for code in AUTH_ERRORS):
            failures.append((seq, response.get("status", 0), text[:300]))
    return failures


@pytest.mark.live
@pytest.mark.parametrize("case", REPLAY_CASES, ids=lambda case: case_id(case) + "-" + case.bucket)
def test_replay_is_faithful_and_authentic(
    case: Case, moto: Moto, fresh_moto: Moto, seaweedfs: Any, confdir: Path, tmp_path: Path
) -> None:
    recording = record_client(
        tmp_path / "rec.jsonl", confdir, case.client, moto.endpoint, case.bucket, *case.driver_args
    )
    assert recording.returncode == 0, recording.stderr[-3000:]
    assert recording.exchanges

    targets = write_targets(tmp_path / "targets.toml", fresh_moto, seaweedfs)
    report_dir = tmp_path / "report"
    result = compat_diff(
        "compare",
        str(recording.path),
        "--targets",
        str(targets),
        "--report-dir",
        str(report_dir),
        "--concurrency",
        "1",
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr[-3000:]
    run_dir = report_dir / "run"

    # moto against moto: every call answered as recorded, and nothing the diff counts.
    replayed = answers(run_dir, "moto")
    recorded = {e["seq"]: e["response"]["status"] for e in recording.exchanges}
    assert {seq: (a.get("response") or {}).get("status") for seq, a in replayed.items()} == recorded
    report = json.loads((report_dir / "report.json").read_text())
    (reference,) = [t for t in report["targets"] if t["name"] == "moto"]
    counted = [
        (d["seq"], op["operation"], d["path"], d["reference"], d["candidate"])
        for op in reference["operations"]
        for d in op["divergences"]
        if d["severity"] in ("major", "critical")
    ]
    assert counted == []
    assert reference["score"] == 1.0

    # SeaweedFS checks signatures: none of the re-signed calls may be refused as unauthentic.
    assert _authentication_failures(answers(run_dir, "seaweedfs")) == []

    # Framing is rebuilt for the body actually sent: never a chunked transfer coding on a body of
    # known length, never a length that disagrees with the body.
    for target in ("moto", "seaweedfs"):
        for seq, answer in answers(run_dir, target).items():
            sent = {name.lower(): value for name, value in answer["request"]["headers"]}
            assert not ("transfer-encoding" in sent and "content-length" in sent), (target, seq, sent)
            body = answer["request"]["body"]
            if "content-length" in sent and "size" in body:
                assert int(sent["content-length"]) == body["size"], (target, seq)
