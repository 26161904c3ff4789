"""The run directory's format has one owner: identity, version, migrations and the blob folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from compat_diff.errors import InputError
from compat_diff.recording import blob_dir_for, runformat
from compat_diff.replay.rundir import RunDirectory


def test_the_replay_writes_what_the_reader_accepts(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path / "run")
    run.start({"path": "rec.jsonl"}, [{"name": "x"}], {})
    output = run.target("x")
    output.close()
    import orjson

    header = orjson.loads((tmp_path / "run" / "run.json").read_bytes())
    assert runformat.migrate_run_header(header, "run.json")["version"] == runformat.RUN_VERSION
    assert output.policy.blobs.directory == runformat.answers_blob_dir(
        tmp_path / "run" / "targets" / "x" / "answers.jsonl"
    )
    assert runformat.answers_blob_dir(Path("a/answers.jsonl")) == blob_dir_for(Path("a/answers.jsonl"))


@pytest.mark.parametrize(
    ("header", "sentence"),
    [
        ({"format": "other"}, "is not a compat-diff run header"),
        (
            {"format": runformat.RUN_FORMAT, "version": runformat.RUN_VERSION + 1},
            "this compat-diff reads version",
        ),
        ({"format": runformat.RUN_FORMAT, "version": 0}, "has version 0"),
    ],
)
def test_headers_it_cannot_read_are_one_sentence(header: dict, sentence: str) -> None:
    with pytest.raises(InputError, match=sentence):
        runformat.migrate_run_header(header, "run.json")


def test_older_headers_walk_the_migration_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runformat, "RUN_VERSION", 2)
    monkeypatch.setitem(
        runformat.RUN_MIGRATIONS, 1, lambda header: {**header, "problems": header.get("problems", [])}
    )
    migrated = runformat.migrate_run_header({"format": runformat.RUN_FORMAT, "version": 1}, "run.json")
    assert migrated == {"format": runformat.RUN_FORMAT, "version": 2, "problems": []}
