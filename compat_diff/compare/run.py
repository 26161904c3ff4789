"""``compat-diff diff``: a run directory against its recording, into report.json and friends.

The work is split into chunks of consecutive seqs, one task per target and chunk, run on every
core. Each worker opens the recording and the answers itself and seeks to its lines through the
seq -> offset indexes, writes its part of details.jsonl as it goes and returns only aggregates,
so memory stays flat however long the run. Each chunk pairs the candidate's ids with the
reference's afresh, so a cross reference is checked within a chunk of ``CHUNK_SIZE`` consecutive
exchanges.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from compat_diff import __version__
from compat_diff.aws.auth import parse_auth
from compat_diff.aws.models import service_names
from compat_diff.aws.redact import redact_response
from compat_diff.compare.cascade import Cascades
from compat_diff.compare.exchange import SideTokens, Stages, diff_exchange
from compat_diff.compare.runfiles import (
    RUN_VERSION,
    Answer,
    answers_blob_dir,
    decode_answer,
    index_lines,
    read_line_at,
    read_run,
)
from compat_diff.compare.score import OperationTally, target_result
from compat_diff.errors import InputError
from compat_diff.model import (
    Body,
    Exchange,
    ExitStatus,
    Headers,
    HttpRequest,
    HttpResponse,
    client_header_text,
    is_exact_text,
)
from compat_diff.normalize import RuleSet, load_rules
from compat_diff.recording import blob_dir_for, decode_exchange, now_iso, open_recording
from compat_diff.recording.format import migrate
from compat_diff.recording.runformat import body_digest
from compat_diff.report.files import atomic_output, cannot_write, is_write_failure, report_directory
from compat_diff.report.result import RunResult, Threshold, divergence_to_json, format_score

CHUNK_SIZE = 5000
# details.jsonl keeps a bounded excerpt of each body (and the digest of a longer one): it is the
# HTML exchange view's evidence, not a second copy of the run.
DETAIL_BODY_LIMIT = 16 * 1024
# A candidate body this long or longer that is byte for byte the reference's is named, not repeated.
DETAIL_SAME_BODY_MIN = 256
# Below this many exchanges a process pool costs more than it saves.
PARALLEL_THRESHOLD = 4000

OpKey = tuple[str | None, str | None]


@dataclass(frozen=True)
class ChunkTask:
    target: str
    recording: Path
    recording_version: int
    seqs: tuple[tuple[int, int], ...]
    answers: Path
    answer_offsets: dict[int, int]
    part: Path
    run_version: int = RUN_VERSION


_RULES: RuleSet | None = None


def _init_worker(rules: RuleSet) -> None:
    global _RULES
    _RULES = rules


def run_diff(
    run_dir: Path,
    report_dir: Path,
    normalizer_paths: list[Path],
    default_rules: bool,
    fail_under: list[str] | float | None,
    console: Any,
    workers: int | None = None,
    baseline: Path | None = None,
    known: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Compare, write the reports, print a summary; the exit status is the result's gate."""
    from compat_diff.compare.gating import (
        apply_baseline,
        apply_known,
        load_baseline,
        load_known,
        read_fail_under,
        resolve_thresholds,
    )

    # Inputs are read before the (long) comparison so a typo fails at once.
    fail_under_values = read_fail_under(fail_under)
    baseline_result = load_baseline(baseline) if baseline is not None else None
    known_entries = load_known(known) if known is not None else None
    result, details = diff_run(
        run_dir, report_dir, normalizer_paths, default_rules, workers=workers, console=console
    )
    result = replace(result, thresholds=resolve_thresholds(fail_under_values, result))
    if known_entries is not None and known is not None:
        result = apply_known(result, known_entries, str(known))
    if baseline_result is not None and baseline is not None:
        result = apply_baseline(result, baseline_result, str(baseline))
    from compat_diff.report import write_reports
    from compat_diff.report.tests import build_tests_view

    tests = build_tests_view(Path(str(result.recording.get("path") or "")), details)
    write_reports(result, report_dir, details, environ=environ, tests=tests)
    print_summary(result, report_dir, console)
    return int(exit_status(result))


def exit_status(result: RunResult) -> ExitStatus:
    return ExitStatus.OK if result.gate.passed else ExitStatus.DIVERGED


def diff_run(
    run_dir: Path,
    report_dir: Path,
    normalizer_paths: list[Path],
    default_rules: bool,
    workers: int | None = None,
    thresholds: tuple[Threshold, ...] = (),
    console: Any = None,
) -> tuple[RunResult, Path]:
    """The result document and the path of a details.jsonl written beside it."""
    info = read_run(run_dir)
    rules = load_rules(normalizer_paths, default_rules=default_rules, known_services=service_names())
    recording = open_recording(info.recording)
    recording_index = sorted(index_lines(info.recording, skip_header=True, unique=True).items())
    report_directory(report_dir)
    try:
        parts_dir = Path(tempfile.mkdtemp(prefix=".parts-", dir=report_dir))
    except OSError as error:
        raise cannot_write(report_dir / "details.jsonl", error) from None
    try:
        return _diff_into(
            run_dir,
            info,
            recording,
            recording_index,
            parts_dir,
            report_dir,
            rules,
            workers,
            thresholds,
            console,
        )
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)


def _diff_into(
    run_dir: Path,
    info: Any,
    recording: Any,
    recording_index: list[tuple[int, int]],
    parts_dir: Path,
    report_dir: Path,
    rules: RuleSet,
    workers: int | None,
    thresholds: tuple[Threshold, ...],
    console: Any,
) -> tuple[RunResult, Path]:
    tasks: list[ChunkTask] = []
    for target in info.targets:
        name = str(target["name"])
        answers = info.answers_path(name)
        if not answers.exists():
            raise InputError(f"the run directory {run_dir} holds no answers for target {name!r} ({answers}).")
        answer_index = index_lines(answers)
        for start in range(0, len(recording_index), CHUNK_SIZE):
            chunk = tuple(recording_index[start : start + CHUNK_SIZE])
            tasks.append(
                ChunkTask(
                    target=name,
                    recording=info.recording,
                    recording_version=recording.version,
                    seqs=chunk,
                    answers=answers,
                    answer_offsets={seq: answer_index[seq] for seq, _ in chunk if seq in answer_index},
                    part=parts_dir / f"{len(tasks):05d}.jsonl",
                    run_version=info.version,
                )
            )
    tallies: dict[str, dict[OpKey, OperationTally]] = {str(t["name"]): {} for t in info.targets}
    fired_total: dict[str, int] = {}
    details = report_dir / "details.jsonl"
    progress = ProgressLines(console, sum(len(task.seqs) for task in tasks), "compared")
    # Results arrive in task order, so each part is appended (and removed) as soon as its chunk is
    # done: the copying overlaps the comparing, and the parts never hold a second copy of the run.
    try:
        with atomic_output(details, buffering=0) as out:
            for task, (target_name, chunk_tallies) in zip(
                tasks, _run_tasks(tasks, rules, workers), strict=True
            ):
                merged = tallies[target_name]
                for key, tally in chunk_tallies.items():
                    if key in merged:
                        merged[key].merge(tally)
                    else:
                        merged[key] = tally
                if task.part.exists():
                    _append(task.part, out)
                    task.part.unlink()
                progress.advance(len(task.seqs))
    except OSError as error:
        # A chunk's part file could not be written: the same disk as the report.
        if is_write_failure(error):
            raise cannot_write(details, error) from None
        raise
    targets = []
    for target in info.targets:
        name = str(target["name"])
        for tally in tallies[name].values():
            for rule, count in tally.rules_fired.items():
                fired_total[rule] = fired_total.get(rule, 0) + count
        targets.append(target_result(name, target, tallies[name]))
    result = RunResult(
        targets=tuple(targets),
        generated=now_iso(),
        tool=f"compat-diff {__version__}",
        run={
            "path": str(run_dir.resolve()),
            "created": info.header.get("created"),
            "problems": info.header.get("problems") or [],
            **_setup_warnings(info.header),
        },
        recording={
            "path": str(info.recording),
            "exchanges": len(recording_index),
            "header": {k: v for k, v in recording.header.items() if k not in ("format", "version")},
        },
        rules={"files": [_display(f) for f in rules.files], "fired": dict(sorted(fired_total.items()))},
        thresholds=thresholds,
    )
    return result, details


class ProgressLines:
    """Without a terminal (a CI log), one line every ``interval`` seconds so the log stays alive;
    with a terminal, nothing (the replay draws a bar there)."""

    def __init__(
        self, console: Any, total: int, verb: str, interval: float = 5.0, clock: Any = time.monotonic
    ) -> None:
        self.console = console if console is not None and not getattr(console, "is_terminal", True) else None
        self.total, self.verb, self.interval, self.clock = total, verb, interval, clock
        self.done = 0
        self.started = self.last = clock()

    def advance(self, count: int) -> None:
        self.done += count
        if self.console is None:
            return
        now = self.clock()
        if now - self.last < self.interval and self.done < self.total:
            return
        self.last = now
        rate = self.done / max(now - self.started, 1e-6)
        self.console.print(f"{self.verb} {self.done}/{self.total} exchanges ({rate:,.0f}/s)", markup=False)


def _append(part: Path, out: Any) -> None:
    """Append a part file to ``out`` (an unbuffered file), inside the kernel where it can."""
    with part.open("rb") as source:
        size = os.fstat(source.fileno()).st_size
        copied = 0
        try:
            while copied < size:
                step = os.copy_file_range(source.fileno(), out.fileno(), size - copied)
                if step == 0:
                    break
                copied += step
        except OSError:
            pass
        if copied < size:
            # No copy_file_range between these files (another file system, an old kernel).
            source.seek(copied)
            shutil.copyfileobj(source, out)


def _display(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path


def _run_tasks(
    tasks: list[ChunkTask], rules: RuleSet, workers: int | None
) -> Iterator[tuple[str, dict[OpKey, OperationTally]]]:
    total = sum(len(task.seqs) for task in tasks)
    processes = workers if workers is not None else (os.cpu_count() or 1)
    if processes <= 1 or total < PARALLEL_THRESHOLD or len(tasks) < 2:
        _init_worker(rules)
        for task in tasks:
            yield diff_chunk(task)
        return
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    with context.Pool(
        processes=min(processes, len(tasks)), initializer=_init_worker, initargs=(rules,)
    ) as pool:
        yield from pool.imap(diff_chunk, tasks)


def diff_chunk(task: ChunkTask) -> tuple[str, dict[OpKey, OperationTally]]:
    """Compare one chunk of seqs for one target; writes its details part, returns its tallies."""
    assert _RULES is not None
    rules = _RULES
    tokens = SideTokens()
    cascades = Cascades()
    tallies: dict[OpKey, OperationTally] = {}
    recording_blobs = blob_dir_for(task.recording)
    answer_blobs = answers_blob_dir(task.answers)
    with (
        task.recording.open("rb") as recording,
        task.answers.open("rb") as answers,
        task.part.open("wb") as part,
    ):
        for seq, offset in task.seqs:
            obj = read_line_at(recording, offset)
            if obj is None:
                continue
            try:
                exchange = decode_exchange(migrate(obj, task.recording_version), recording_blobs)
            except (KeyError, ValueError, TypeError):
                continue
            answer = None
            answer_offset = task.answer_offsets.get(seq)
            if answer_offset is not None:
                answer_obj = read_line_at(answers, answer_offset)
                if answer_obj is not None:
                    try:
                        answer = decode_answer(
                            answer_obj, answer_blobs, exchange, task.run_version
                        )
                    except (KeyError, ValueError, TypeError):
                        answer = None
            exchange, answer = _without_secrets(exchange, answer)
            stages = diff_exchange(exchange, answer, rules, task.target, tokens)
            stages = replace(stages, result=cascades.link(exchange, stages.result))
            key = (exchange.service, exchange.operation)
            tally = tallies.get(key)
            if tally is None:
                tally = tallies[key] = OperationTally(exchange.service, exchange.operation)
            tally.add(stages.result)
            part.write(
                orjson.dumps(
                    _detail(task.target, exchange, answer, stages),
                    option=orjson.OPT_NON_STR_KEYS,
                    default=str,
                )
                + b"\n"
            )
    return task.target, tallies


def _without_secrets(exchange: Exchange, answer: Answer | None) -> tuple[Exchange, Answer | None]:
    """Both answers redacted the same way before they are compared or written to details.jsonl: a
    recording made by hand or by another tool, or a run written by an older replay, may still hold
    secrets in an answer, and a redacted value on both sides compares equal. (Requests are
    redacted where they are written, by the recorder and by the replay.)"""
    op = exchange.op
    response = redact_response(exchange.response, op)
    if response is not exchange.response:
        exchange = replace(exchange, response=response)
    if answer is not None and answer.response is not None:
        got = redact_response(answer.response, op)
        if got is not answer.response:
            answer = replace(answer, response=got)
    return exchange, answer


def _detail(target: str, exchange: Any, answer: Any, stages: Stages) -> dict[str, Any]:
    result = stages.result
    candidate: dict[str, Any] = {"request": None, "response": None, "normalized": None, "error": None}
    if answer is not None:
        candidate["request"] = _request_view(answer.request, exchange.request.body)
        candidate["response"] = _response_view(answer.response, exchange.response.body)
        candidate["error"] = answer.error
        if answer.skipped:
            candidate["skipped"] = answer.skipped
    if stages.candidate_normalized is not None:
        tree = stages.candidate_normalized.tree
        reference_tree = stages.reference_normalized.tree if stages.reference_normalized else None
        if tree is not None and tree == reference_tree:
            # The exchange view shows the reference's tree for both sides.
            candidate["normalized_same_as_reference"] = True
        else:
            candidate["normalized"] = tree
    return {
        "target": target,
        "seq": exchange.seq,
        "service": exchange.service,
        "operation": exchange.operation,
        "verdict": result.verdict,
        "auth": _auth_schemes(exchange, answer),
        "divergences": [divergence_to_json(d) for d in result.divergences],
        "rules_fired": list(result.rules_fired),
        "notes": list(result.notes),
        "reference": {
            "request": _request_view(exchange.request),
            "response": _response_view(exchange.response),
            "normalized": stages.reference_normalized.tree if stages.reference_normalized else None,
        },
        "candidate": candidate,
    }


def _auth_schemes(exchange: Any, answer: Any) -> dict[str, str | None]:
    """How each side's call was signed (sigv4, sigv4-query, sigv2, sigv2-query, none)."""
    recorded = exchange.auth.scheme if exchange.auth.scheme != "none" else parse_auth(exchange.request).scheme
    sent = parse_auth(answer.request).scheme if answer is not None and answer.request is not None else None
    return {"reference": recorded, "candidate": sent}


def _request_view(request: HttpRequest | None, reference: Body | None = None) -> dict[str, Any] | None:
    if request is None:
        return None
    view: dict[str, Any] = {
        "method": request.method,
        "url": request.url,
        "headers": _headers_view(request.headers),
    }
    view.update(_body_view(request.body, reference))
    return view


def _response_view(response: HttpResponse | None, reference: Body | None = None) -> dict[str, Any] | None:
    if response is None:
        return None
    view: dict[str, Any] = {"status": response.status, "headers": _headers_view(response.headers)}
    view.update(_body_view(response.body, reference))
    return view


def _body_view(body: Body, reference: Body | None) -> dict[str, Any]:
    """``body`` as the exchange view shows it; one that repeats the reference's bytes is only named."""
    if reference is not None and body.size >= DETAIL_SAME_BODY_MIN and body.size == reference.size:
        digest = body_digest(body)
        if digest is not None and digest == body_digest(reference):
            named = f"<the reference's {body.size} bytes, sha256 {digest}>"
            return {"body": named, "body_same_as_reference": True}
    return {"body": _body_text(body)}


def _headers_view(headers: Headers) -> Any:
    """Headers to show: as they are (tuples encode as JSON arrays), a value whose bytes are not
    UTF-8 as a client reads it (one character per byte)."""
    if all(is_exact_text(name) and is_exact_text(value) for name, value in headers):
        return headers
    return [(client_header_text(name), client_header_text(value)) for name, value in headers]


def _body_text(body: Body) -> str:
    if not body.available:
        return f"<{body.size} bytes not stored, sha256 {body.sha256}>"
    if body.storage == "blob" or not body.is_text:
        return (
            f"<{body.size} bytes of {'binary' if not body.is_text else 'text'} data, sha256 {body.digest()}>"
        )
    data = body.inline or b""
    text = data[:DETAIL_BODY_LIMIT].decode("utf-8", "replace")
    if len(data) > DETAIL_BODY_LIMIT:
        text += f"... ({len(data)} bytes, sha256 {body.digest()})"
    return text


def print_summary(result: RunResult, report_dir: Path, console: Any) -> None:
    """The console's view of the result: scores, what changed, and the gate's decision."""
    for target in result.targets:
        verdicts = ", ".join(f"{count} {name}" for name, count in target.verdicts.items() if count)
        console.print(
            f"{target.name}: score {format_score(target.score)} "
            f"({target.matching}/{target.compared} matching; {verdicts or 'nothing compared'})",
            markup=False,
        )
    for line in delta_lines(result):
        console.print(line, markup=False)
    gate = result.gate
    for reason in gate.reasons:
        console.print(f"gate: {reason}", markup=False)
    console.print(f"report written to {report_dir}", markup=False)


def delta_lines(result: RunResult, limit: int = 10) -> list[str]:
    """New and fixed findings against the baseline, known ones that stopped happening."""
    lines: list[str] = []
    if result.baseline is not None:
        delta = result.baseline
        lines.append(f"against the baseline {delta.path}: {len(delta.new)} new, {len(delta.fixed)} fixed")
        lines += [f"  new: {ref.describe()}" for ref in delta.new[:limit]]
        lines += [f"  fixed: {ref.describe()}" for ref in delta.fixed[:limit]]
    if result.known is not None and result.known.stale:
        lines.append(f"known divergences that no longer happen ({result.known.path}):")
        lines += [f"  {entry.describe()}" for entry in result.known.stale[:limit]]
    return lines


def _setup_warnings(header: dict[str, Any]) -> dict[str, Any]:
    """The replay's sentences about targets whose answers mostly point at their set-up."""
    summary = header.get("summary") or {}
    warnings = {
        str(name): str(entry["setup_warning"])
        for name, entry in summary.items()
        if isinstance(entry, dict) and entry.get("setup_warning")
    }
    return {"setup_warnings": warnings} if warnings else {}
