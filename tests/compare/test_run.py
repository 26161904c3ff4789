"""``compat-diff diff`` end to end: a run directory from two real moto servers, through the CLI."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner
from rundir import answer_line, policy_for, write_recording, write_run

from compat_diff.cli import main
from compat_diff.compare.run import diff_run
from compat_diff.model import Exchange, HttpResponse
from compat_diff.testing import make_response


def _run_dir(
    tmp_path: Path,
    reference: list[Exchange],
    answers: dict[str, list[HttpResponse | None]],
    **per_seq: dict[str, object],
) -> Path:
    recording = write_recording(tmp_path / "rec.jsonl", reference)
    lines = {}
    for target, responses in answers.items():
        policy = policy_for(tmp_path / "run" / "targets" / target)
        target_lines = [
            answer_line(e, r, policy, **per_seq.get(f"{target}:{e.seq}", {}))  # type: ignore[arg-type]
            for e, r in zip(reference, responses, strict=True)
        ]
        random.Random(7).shuffle(target_lines)  # answers arrive in completion order, not seq order
        lines[target] = target_lines
    return write_run(tmp_path / "run", recording, lines)


def _invoke(run_dir: Path, report_dir: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["diff", str(run_dir), "--report-dir", str(report_dir), *extra])
    return result.exit_code, result.output


def test_moto_against_fresh_moto_has_no_divergence(tmp_path: Path, moto_pair) -> None:
    reference, candidate = moto_pair
    run_dir = _run_dir(tmp_path, reference, {"moto": [e.response for e in candidate]})
    code, output = _invoke(run_dir, tmp_path / "report")
    doc = json.loads((tmp_path / "report" / "report.json").read_text())
    divergences = [d for op in doc["targets"][0]["operations"] for d in op["divergences"]]
    assert code == 0, (output, divergences)
    assert divergences == []
    target = doc["targets"][0]
    assert target["score"] == 1.0
    assert target["compared"] == len(reference)
    assert doc["rules"]["fired"]["common.request-id"] >= len(reference) - 5
    details = (tmp_path / "report" / "details.jsonl").read_text().splitlines()
    assert len(details) == len(reference)


def test_a_changed_answer_is_reported_and_fails(tmp_path: Path, moto_pair) -> None:
    reference, candidate = moto_pair
    responses: list[HttpResponse | None] = [e.response for e in candidate]
    target_seq = next(e.seq for e in reference if e.operation == "ListBuckets")
    responses[target_seq - 1] = make_response(
        501,
        {"Content-Type": "application/xml"},
        "<Error><Code>NotImplemented</Code><Message>no</Message></Error>",
    )
    broken_seq = next(e.seq for e in reference if e.operation == "GetItem")
    responses[broken_seq - 1] = None
    run_dir = _run_dir(
        tmp_path,
        reference,
        {"clone": responses},
        **{
            f"clone:{broken_seq}": {
                "outcome": "transport",
                "error": {"kind": "reset", "message": "connection reset"},
                "broken": [{"seq": 1, "value": "x"}],
            },
        },
    )
    code, _ = _invoke(run_dir, tmp_path / "report")
    assert code == 1
    doc = json.loads((tmp_path / "report" / "report.json").read_text())
    ops = {(o["service"], o["operation"]): o for o in doc["targets"][0]["operations"]}
    assert ops[("s3", "ListBuckets")]["verdict"] == "not-implemented"
    status = [d for d in ops[("s3", "ListBuckets")]["divergences"] if d["kind"] == "status"]
    assert status and status[0]["severity"] == "critical" and status[0]["seq"] == target_seq
    transport = ops[("dynamodb", "GetItem")]["divergences"][0]
    assert (transport["kind"], transport["severity"], transport["caused_by"]) == ("transport", "critical", 1)
    assert ops[("dynamodb", "GetItem")]["verdict"] == "error"
    assert doc["targets"][0]["score"] < 1.0
    code, _ = _invoke(run_dir, tmp_path / "report2", "--fail-under", "0.5")
    assert code == 0


def test_skipped_exchanges_do_not_count(tmp_path: Path, moto_pair) -> None:
    reference, candidate = moto_pair
    first = reference[0].seq
    run_dir = _run_dir(
        tmp_path,
        reference,
        {"moto": [e.response for e in candidate]},
        **{f"moto:{first}": {"outcome": "skipped", "skipped": "read-only"}},
    )
    result, _ = diff_run(run_dir, tmp_path / "report", [], True)
    target = result.targets[0]
    assert target.verdicts["skipped"] == 1
    assert target.compared == len(reference) - 1
    assert target.score == 1.0


def test_parallel_and_serial_agree(tmp_path: Path, moto_pair) -> None:
    reference, candidate = moto_pair
    # Enough exchanges for several chunks: the scenario repeated with fresh seqs.
    many_ref = [replace(e, seq=i + 1) for i, e in enumerate(reference * 3)]
    many_cand = [e.response for e in candidate * 3]
    run_dir = _run_dir(tmp_path, many_ref, {"moto": many_cand})
    import compat_diff.compare.run as run_module

    old = (run_module.CHUNK_SIZE, run_module.PARALLEL_THRESHOLD)
    run_module.CHUNK_SIZE, run_module.PARALLEL_THRESHOLD = 20, 0
    try:
        parallel, _ = diff_run(run_dir, tmp_path / "p", [], True, workers=2)
        serial, _ = diff_run(run_dir, tmp_path / "s", [], True, workers=1)
    finally:
        run_module.CHUNK_SIZE, run_module.PARALLEL_THRESHOLD = old
    assert parallel.targets == serial.targets
    assert parallel.targets[0].compared == len(many_ref)
    lines = (tmp_path / "p" / "details.jsonl").read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == list(range(1, len(many_ref) + 1))


def test_missing_run_directory_is_a_usage_error(tmp_path: Path) -> None:
    code, output = _invoke(tmp_path / "nope", tmp_path / "report")
    assert code == 2
    assert "not a run directory" in output
