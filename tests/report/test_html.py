"""index.html without a browser: self-contained, data escaped, details compressed and complete."""

from __future__ import annotations

import base64
import gzip
import re
from pathlib import Path

import orjson

from compat_diff.report.html import CHUNK_SIZE, build_payload, json_for_script, render_html
from compat_diff.report.result import RunResult
from tests.report.sample import XSS, sample_report, write_details


def scripts(html: str) -> dict[str, str]:
    return dict(re.findall(r'<script type="[^"]+" id="([^"]+)">(.*?)</script>', html, flags=re.S))


def test_data_cannot_leave_its_script_element(tmp_path: Path) -> None:
    doc, details = sample_report()
    html = render_html(RunResult.from_json(doc), write_details(details, tmp_path / "details.jsonl"))
    # Only our own script elements close: the document's data holds "</script>" many times over.
    assert html.lower().count("</script>") == html.lower().count("<script")
    assert "__pwned" not in html.split('<script type="application/json" id="cd-summary">')[0]
    summary = orjson.loads(scripts(html)["cd-summary"])
    assert summary["recording"]["header"]["client"].endswith(XSS)


def test_json_for_script_round_trips_markup() -> None:
    value = {"body": "</script><!-- & -->\u2028"}
    text = str(json_for_script(value))
    assert "<" not in text and ">" not in text and "&" not in text
    assert orjson.loads(text) == value


def test_no_network_is_needed(tmp_path: Path) -> None:
    doc, details = sample_report()
    html = render_html(RunResult.from_json(doc), write_details(details, tmp_path / "details.jsonl"))
    assert not re.search(
        r'<(link|img|iframe)\b|\bsrc="http|\bhref="http|@import', html.split("<script type=")[0]
    )
    assert "default-src 'none'" in html


def test_details_are_compressed_in_target_then_seq_order(tmp_path: Path) -> None:
    doc, details = sample_report()
    path = write_details(list(reversed(details)), tmp_path / "details.jsonl")
    index, chunks = build_payload(RunResult.from_json(doc), path)
    records = [r for chunk in chunks for r in orjson.loads(gzip.decompress(base64.b64decode(chunk)))]
    assert [(r["target"], r["seq"]) for r in records] == [
        ("swift", 1),
        ("swift", 2),
        ("swift", 3),
        ("swift", 4),
        ("rclone", 1),
        ("rclone", 2),
    ]
    assert index["seq"] == [1, 2, 3, 4, 1, 2]
    assert index["t"] == [0, 0, 0, 0, 1, 1]
    assert records[1]["candidate"]["normalized"]["ContentType"] == "application/octet-stream"
    assert index["strings"][index["paths"][1]] == "$.ContentType $.Metadata['owner.team']"


def test_damaged_details_lines_and_unknown_targets_are_skipped(tmp_path: Path) -> None:
    doc, details = sample_report()
    path = write_details(details, tmp_path / "details.jsonl")
    with path.open("ab") as handle:
        handle.write(orjson.dumps({**details[0], "target": "ghost"}) + b"\n")
        handle.write(b'{"target": "swift", "seq": 9, "trunc')
    index, _ = build_payload(RunResult.from_json(doc), path)
    assert len(index["seq"]) == len(details)


def test_without_details_the_divergences_still_reach_the_page() -> None:
    doc, _ = sample_report()
    _, chunks = build_payload(RunResult.from_json(doc), None)
    records = [r for chunk in chunks for r in orjson.loads(gzip.decompress(base64.b64decode(chunk)))]
    assert [(r["target"], r["seq"]) for r in records] == [("swift", 2), ("swift", 3), ("swift", 4)]
    assert [d["path"] for d in records[0]["divergences"]] == ["$.ContentType", "$.Metadata['owner.team']"]


def test_many_exchanges_are_split_into_chunks(tmp_path: Path) -> None:
    doc, details = sample_report()
    many = [{**details[1], "seq": seq} for seq in range(1, CHUNK_SIZE * 2 + 2)]
    index, chunks = build_payload(RunResult.from_json(doc), write_details(many, tmp_path / "details.jsonl"))
    assert len(chunks) == 3
    assert len(index["seq"]) == CHUNK_SIZE * 2 + 1


def test_a_huge_run_drops_bodies_of_matching_exchanges_only(tmp_path: Path, monkeypatch) -> None:
    from compat_diff.report import html as html_module

    monkeypatch.setattr(html_module, "MAX_EMBEDDED_DETAIL_BYTES", 0)
    doc, details = sample_report()
    many = [{**details[i % 2], "seq": seq} for i, seq in enumerate(range(1, CHUNK_SIZE * 2 + 1))]
    _, chunks = build_payload(RunResult.from_json(doc), write_details(many, tmp_path / "details.jsonl"))
    first, second = (orjson.loads(gzip.decompress(base64.b64decode(chunk))) for chunk in chunks)
    assert all("request" in record["candidate"] for record in first)
    assert all(
        record.get("omitted") and "request" not in record["candidate"]
        for record in second
        if record["verdict"] == "match"
    )
    assert all("request" in record["candidate"] for record in second if record["verdict"] != "match")
    assert all("normalized" in record["candidate"] for record in second)


def test_repeated_list_divergences_are_one_group_with_a_count_and_stable_unique_accept_ids() -> None:
    from compat_diff.normalize.rules import rules_from_yaml
    from compat_diff.report.html import divergence_groups

    def record(seq: int, target: str = "mycloud") -> dict:
        etags = [
            {"seq": seq, "kind": "value", "severity": "major", "path": f"$.Contents[{i}].ETag"}
            for i in range(4)
        ]
        return {
            "target": target,
            "seq": seq,
            "operation": "ListObjectsV2",
            "divergences": [
                *etags,
                {"seq": seq, "kind": "value", "severity": "major", "path": "$.Name"},
                {"seq": seq, "kind": "missing", "severity": "major", "path": "$.Name"},
            ],
        }

    first, second = divergence_groups(record(3)), divergence_groups(record(9))
    expected = [("$.Contents[*].ETag", 4), ("$.Name", 1), ("$.Name", 1)]
    assert [(g["path"], g["count"]) for g in first] == expected
    ids = [g["accept_id"] for g in first]
    assert len(set(ids)) == len(ids)  # two different divergences never share an id
    assert ids == [g["accept_id"] for g in second]  # the same one has the same id in every exchange
    assert ids[0].startswith("accept.mycloud.ListObjectsV2.value.Contents-ETag.")
    assert divergence_groups(record(3, target="other"))[0]["accept_id"] != ids[0]
    # Each id and [*] path is what a rule file accepts as it is.
    snippet = "".join(
        f"- id: {g['accept_id']}\n  reason: r\n  path: \"{g['path']}\"\n  action: ignore\n" for g in first
    )
    assert len(rules_from_yaml(snippet, source="pasted").rules) == 3


def test_findings_collapse_list_positions_but_not_quoted_keys() -> None:
    from compat_diff.model import Divergence
    from compat_diff.report.result import collapse_path, findings_of

    divergences = [
        Divergence(seq, "value", "major", f"$.Contents[{i}].ETag") for seq in (1, 2) for i in range(2)
    ]
    (finding,) = findings_of(divergences)
    assert (finding.path, finding.count, finding.seqs) == ("$.Contents[*].ETag", 4, (1, 2))
    assert "x4" in finding.describe()
    assert collapse_path("$.Tags['a[0]'].Value[2]") == "$.Tags['a[0]'].Value[*]"
