"""The asynchronous replay: sessions in parallel, calls in order, one aiohttp session per target.

Every target gets its own :class:`aiohttp.ClientSession`, id map and in-flight limit. Each
recorded session is one task (owned by a ``TaskGroup``); before a call is sent, the calls whose
answers it depends on (possibly in other sessions) must have completed on that target, so ids are
known. Transport faults are outcomes, never exceptions: refused, reset, timeout, TLS and protocol
errors are recorded on the answer and the replay carries on.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import errno
import http.client
import ssl
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

import aiohttp
import yarl

from compat_diff.aws.models import is_read_only
from compat_diff.aws.redact import redact_request, redact_response
from compat_diff.aws.signing import Clock, system_clock
from compat_diff.errors import RecordingError
from compat_diff.model import Body, Exchange, HttpResponse, header_text
from compat_diff.recording.runformat import Answer
from compat_diff.replay.answers import (
    DEFAULT_MAX_ANSWER_BYTES,
    AnswerTooLarge,
    UndecodableBody,
    read_body,
    small_enough,
)
from compat_diff.replay.exact import needs_exact_bytes, send_exact
from compat_diff.replay.idmap import DependencyIndex, IdMap, Substituter
from compat_diff.replay.names import NameScope
from compat_diff.replay.pacing import Pacer
from compat_diff.replay.polls import DEFAULT_POLL_TIMEOUT, pollable, reached, recorded_states, states
from compat_diff.replay.retarget import NotReplayable, OutgoingRequest, rebuild
from compat_diff.replay.targets import Target
from compat_diff.replay.timeshift import shift_exchange

# aiohttp adds these unless told not to; a replay sends only what the recorded client sent.
_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
_THROTTLE_CODES = (
    b"SlowDown",
    b"Throttling",
    b"ThrottlingException",
    b"RequestLimitExceeded",
    b"TooManyRequests",
    b"ProvisionedThroughputExceeded",
    b"RequestThrottled",
)
# After this many timeouts in a row with no answer at all, a target is treated as unreachable.
_DOWN_AFTER_TIMEOUTS = 3
# After this many timeouts or refused connections in a row (once it has answered), a target is
# probed once; if the probe gets no answer either, its remaining calls are not sent.
DEFAULT_UNRESPONSIVE_AFTER = 5
_STALL_KINDS = ("timeout", "connection-refused")


@dataclass(frozen=True)
class ReplayOptions:
    concurrency: int = 8
    timeout: float = 30.0
    read_only: bool = False
    retry_throttled: int = 0
    clock: Clock = system_clock
    max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES
    unresponsive_after: int = DEFAULT_UNRESPONSIVE_AFTER
    # Replay start minus recording start: absolute times in requests move by it (None: as recorded).
    time_shift: _dt.timedelta | None = None
    # Seconds a poll may be repeated until the candidate reports the recorded state (0: never).
    poll_timeout: float = DEFAULT_POLL_TIMEOUT


@dataclass
class TargetState:
    """Everything one target's replay shares across its sessions."""

    target: Target
    idmap: IdMap
    # Left out of repr: asyncio's runner formats the finished task's result (these states) when it
    # restores the SIGINT handler, and one Event per recorded call made that cost milliseconds.
    done: dict[int, asyncio.Event] = field(repr=False)
    limit: asyncio.Semaphore = field(repr=False)
    on_answer: Callable[[Target, Answer], None]
    answered: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    first_error: str | None = None
    down: dict[str, str] | None = None
    timeouts_in_a_row: int = 0
    http: aiohttp.ClientSession | None = None
    tls: ssl.SSLContext | bool = False
    # Where answers too large to keep in memory are spooled (the run directory's blob folder).
    blob_dir: Path | None = None
    stalls_in_a_row: int = 0
    unresponsive: str | None = None
    probe_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    not_run: int = 0
    too_large: int = 0
    internal_errors: int = 0
    first_internal_error: str | None = None
    # The target's run-scoped names (None: names as recorded, nothing remembered for the cleanup).
    names: NameScope | None = None
    # A resumed run: what the target answered before the interruption (seq -> answer, or None).
    previous: dict[int, HttpResponse | None] = field(default_factory=dict, repr=False)
    # The target's request-rate limit (None: as fast as the concurrency allows).
    pacer: Pacer | None = field(default=None, repr=False)


async def replay(
    exchanges: list[Exchange],
    targets: list[Target],
    index: DependencyIndex,
    options: ReplayOptions,
    on_answer: Callable[[Target, Answer], None],
    blob_dirs: dict[str, Path] | None = None,
    names: dict[str, NameScope] | None = None,
    previous: dict[str, dict[int, HttpResponse | None]] | None = None,
) -> list[TargetState]:
    """Replay ``exchanges`` against every target at once; ``on_answer`` receives each outcome.

    Answers larger than fit in memory are spooled to ``blob_dirs[target name]`` (kept in memory
    when a target has none, still capped by ``options.max_answer_bytes``).
    """
    sessions: dict[str, list[Exchange]] = {}
    for exchange in sorted(exchanges, key=lambda item: item.seq):
        sessions.setdefault(exchange.session, []).append(exchange)
    states = [
        TargetState(
            target=target,
            idmap=IdMap(index),
            # Only calls whose answers another call needs are ever waited on.
            done={seq: asyncio.Event() for seq in index.produced},
            limit=asyncio.Semaphore(options.concurrency),
            on_answer=on_answer,
            blob_dir=(blob_dirs or {}).get(target.name),
            names=(names or {}).get(target.name),
            previous=(previous or {}).get(target.name, {}),
            pacer=Pacer(target.max_rate) if target.max_rate is not None else None,
        )
        for target in targets
    ]
    timeout = aiohttp.ClientTimeout(total=options.timeout)
    # Loading the system's CA store costs milliseconds; only a verified HTTPS target needs it.
    verified: ssl.SSLContext | None = None
    try:
        await _replay_all(states, sessions, index, options, timeout, verified)
    finally:
        # Closed even when the replay is interrupted, so no session is left unclosed.
        for state in states:
            if state.http is not None:
                await state.http.close()
    return states


async def _replay_all(
    states: list[TargetState],
    sessions: dict[str, list[Exchange]],
    index: DependencyIndex,
    options: ReplayOptions,
    timeout: aiohttp.ClientTimeout,
    verified: ssl.SSLContext | None,
) -> None:
    async with asyncio.TaskGroup() as group:
        for state in states:
            tls: ssl.SSLContext | bool = False
            urls = (state.target.endpoint, *state.target.endpoints.values())
            if state.target.tls_verify and any(url.lower().startswith("https:") for url in urls):
                verified = verified or ssl.create_default_context()
                tls = verified
            state.tls = tls
            connector = aiohttp.TCPConnector(limit=options.concurrency, ssl=tls)
            # Bodies are decoded by read_body, capped by their decoded size.
            state.http = aiohttp.ClientSession(
                connector=connector, timeout=timeout, auto_decompress=False, skip_auto_headers=_AUTO_HEADERS
            )
            for calls in sessions.values():
                group.create_task(_replay_session(state, calls, index, options))


async def _replay_session(
    state: TargetState, calls: list[Exchange], index: DependencyIndex, options: ReplayOptions
) -> None:
    for exchange in calls:
        if exchange.seq in state.previous:
            _restore(state, exchange)
            continue
        try:
            for origin in index.origins_of(exchange.seq):
                event = state.done.get(origin)
                if event is not None:
                    await event.wait()
            try:
                answer = _without_secrets(
                    await _replay_call(state, exchange, options), exchange, state.blob_dir
                )
            except Exception as error:  # a bug of ours, never an outcome of the candidate
                answer = _internal_error(exchange.seq, error)
        finally:
            # Set even on failure: later calls in other sessions wait on it.
            waited_on = state.done.get(exchange.seq)
            if waited_on is not None:
                waited_on.set()
        try:
            state.idmap.learn(
                exchange.seq, exchange.response, answer.response if answer.outcome == "answered" else None
            )
            if state.names is not None and answer.outcome == "answered" and answer.response is not None:
                # The candidate's own values are learnt above; the comparison sees the recorded names.
                state.names.note_created(exchange, answer.response, state.idmap.known)
                answer = replace(answer, response=state.names.map_back(exchange, answer.response))
        except Exception as error:
            answer = _internal_error(exchange.seq, error)
        if answer.outcome == "answered":
            state.answered += 1
        elif answer.outcome == "transport" and answer.error:
            state.errors[answer.error["kind"]] += 1
            state.first_error = state.first_error or answer.error["message"]
        elif answer.outcome == "not-run":
            state.not_run += 1
        elif answer.outcome == "too-large":
            state.too_large += 1
        elif answer.outcome == "internal-error":
            state.internal_errors += 1
            if state.first_internal_error is None and answer.error:
                state.first_internal_error = f"seq {exchange.seq}: {answer.error['message']}"
        state.on_answer(state.target, answer)


def _without_secrets(answer: Answer, exchange: Exchange, blob_dir: Path | None) -> Answer:
    """The answer with the secrets a candidate hands out (keys, tokens, passwords) redacted, the way
    the recorder redacts AWS's answers, before anything learns from it or writes it down."""
    response = answer.response
    if response is None:
        return answer
    redacted = redact_response(response, exchange.op)
    if redacted is response:
        return answer
    if redacted.body is not response.body:
        # Its unredacted bytes go; the redacted body is stored when the answer is written.
        _drop_spooled(response.body, blob_dir)
    return replace(answer, response=redacted)


def _drop_spooled(body: Body, blob_dir: Path | None) -> None:
    """Remove a body spooled to a file of its own as it arrived (not yet stored under its digest)."""
    path = body.blob_path if body.storage == "blob" else None
    # Spool files are hidden (".answer-..."); a file named by its digest may be another answer's.
    if path is not None and blob_dir is not None and path.parent == blob_dir and path.name.startswith("."):
        path.unlink(missing_ok=True)


def _restore(state: TargetState, exchange: Exchange) -> None:
    """A call answered before the interruption of a resumed run: learn from it, do not send it."""
    response = state.previous[exchange.seq]
    if response is not None:
        if state.names is not None:
            # Stored with the recorded names; the candidate's ids carry the run-scoped ones.
            response = state.names.map_forward(exchange, response)
            state.names.note_created(exchange, response, state.idmap.known)
        state.idmap.learn(exchange.seq, exchange.response, response)
        state.answered += 1
    else:
        state.idmap.learn(exchange.seq, exchange.response, None)
    waited_on = state.done.get(exchange.seq)
    if waited_on is not None:
        waited_on.set()


def _internal_error(seq: int, error: Exception) -> Answer:
    """An exception raised by the replayer's own code: labelled as ours, kept out of the scores."""
    where = ""
    frames = traceback.extract_tb(error.__traceback__)
    if frames:
        last = frames[-1]
        where = f" (in {Path(last.filename).name}:{last.lineno}, {last.name})"
    message = f"{type(error).__name__}: {str(error)[:300]}{where}"
    return Answer(seq, "internal-error", error={"kind": "internal", "message": message})


async def _replay_call(state: TargetState, exchange: Exchange, options: ReplayOptions) -> Answer:
    answer = await _replay_once(state, exchange, options)
    if options.poll_timeout > 0 and answer.outcome == "answered" and pollable(exchange):
        answer = await _poll(state, exchange, options, answer)
    return answer


async def _poll(state: TargetState, exchange: Exchange, options: ReplayOptions, answer: Answer) -> Answer:
    """Ask again until the candidate reports the recorded state, or the bound expires."""
    recorded = recorded_states(exchange)
    if not recorded or answer.response is None:
        return answer
    started = time.monotonic()
    attempts, delay, done = 1, 0.2, reached(recorded, states(exchange, answer.response))
    while not done and time.monotonic() - started + delay <= options.poll_timeout:
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)
        again = await _replay_once(state, exchange, options)
        attempts += 1
        if again.outcome != "answered" or again.response is None:
            break
        answer = again
        done = reached(recorded, states(exchange, again.response))
    if attempts > 1:
        answer = replace(answer, polled={
            "attempts": attempts,
            "waited_ms": round((time.monotonic() - started) * 1000, 1),
            "reached": done,
        })
    return answer


async def _replay_once(state: TargetState, exchange: Exchange, options: ReplayOptions) -> Answer:
    skipped = _skip_reason(exchange, options, state.target)
    if skipped:
        return Answer(exchange.seq, "skipped", skipped=skipped)
    if options.time_shift is not None and state.target.timeshift:
        exchange = shift_exchange(exchange, options.time_shift)
    replacements, broken = state.idmap.resolve(exchange.seq)
    substituter = Substituter(replacements) if replacements else None
    if state.names is not None:
        substituter = state.names.substituter(substituter)
    if state.unresponsive is not None:
        return Answer(
            exchange.seq,
            "not-run",
            skipped=f"target unresponsive: {state.unresponsive}",
            broken_dependencies=tuple(broken),
        )
    if state.down is not None:
        return Answer(
            exchange.seq,
            "transport",
            error={"kind": state.down["kind"], "message": f"not sent: {state.down['message']}"},
            broken_dependencies=tuple(broken),
        )
    attempts = 0
    while True:
        attempts += 1
        try:
            outgoing = rebuild(exchange, state.target, substituter, clock=options.clock, broken=tuple(broken))
        except NotReplayable as error:
            return Answer(exchange.seq, "skipped", skipped=f"not-replayable: {error}")
        sent = redact_request(outgoing.as_http_request(), exchange.op)
        answer = replace(
            await _send(state, exchange.seq, outgoing, options),
            request=sent,
            broken_dependencies=tuple(broken),
            attempts=attempts,
        )
        if answer.outcome == "transport" and answer.error and answer.error["kind"] in _STALL_KINDS:
            await _note_stall(state, options)
        if answer.response is None or attempts > options.retry_throttled or not _throttled(answer.response):
            return answer
        _drop_spooled(answer.response.body, state.blob_dir)  # the throttled answer is replaced
        await asyncio.sleep(min(0.1 * 2 ** (attempts - 1), 2.0))


def _skip_reason(exchange: Exchange, options: ReplayOptions, target: Target) -> str | None:
    if not target.serves(exchange.service):
        return f"not-served: {target.name} does not serve {exchange.service or 'unidentified calls'}"
    if not exchange.replayable:
        return "not-replayable: the recorded request body was not kept"
    if options.read_only:
        if exchange.service is None or exchange.operation is None:
            return "read-only: unknown operation"
        if not is_read_only(exchange.service, exchange.operation):
            return "read-only"
    return None


def _open_blob(body: Body) -> BinaryIO:
    assert body.blob_path is not None
    try:
        return body.blob_path.open("rb")
    except OSError as error:
        raise RecordingError(
            f"the recording's blob {body.sha256} cannot be read: {error.strerror or error}"
        ) from None


def _throttled(response: HttpResponse) -> bool:
    if response.status not in (400, 429, 503):
        return False
    body = response.body.inline or b""
    return any(code in body for code in _THROTTLE_CODES)


async def _send(state: TargetState, seq: int, outgoing: OutgoingRequest, options: ReplayOptions) -> Answer:
    read = _BodyReader(state.blob_dir, options.max_answer_bytes)
    async with state.limit:
        if state.pacer is not None:
            # Paced inside the in-flight limit: slots taken while waiting for it would pass unused
            # and the requests behind them would then leave together.
            await state.pacer.wait()
        started = time.perf_counter()
        # Opened before the transport's try: a blob that cannot be read is the recording's problem
        # (the replay checked every blob up front), never a fault of the candidate.
        data = _open_blob(outgoing.body) if isinstance(outgoing.body, Body) else None
        try:
            # The session skips aiohttp's automatic headers, so nothing but the rebuilt headers is sent.
            if data is not None:
                with data:
                    response = await _exchange(state, outgoing, data, read, options)
            else:
                assert not isinstance(outgoing.body, Body)
                response = await _exchange(state, outgoing, outgoing.body or None, read, options)
        except AnswerTooLarge as error:
            state.stalls_in_a_row = 0
            return Answer(
                seq,
                "too-large",
                error={
                    "kind": "too-large",
                    "message": f"{state.target.endpoint} answered with status {read.status}, but {error}",
                    "limit": error.limit,
                    "status": read.status,
                },
                duration_ms=(time.perf_counter() - started) * 1000,
            )
        except Exception as error:  # every transport fault becomes an outcome
            kind, message = classify(error, state.target.endpoint)
            _note_failure(state, kind, message)
            return Answer(
                seq,
                "transport",
                error={"kind": kind, "message": message},
                duration_ms=(time.perf_counter() - started) * 1000,
            )
        state.timeouts_in_a_row = 0
        state.stalls_in_a_row = 0
        return Answer(seq, "answered", response=response, duration_ms=(time.perf_counter() - started) * 1000)


@dataclass
class _BodyReader:
    blob_dir: Path | None
    limit: int
    status: int | None = None


async def _exchange(
    state: TargetState, outgoing: OutgoingRequest, data: Any, read: _BodyReader, options: ReplayOptions
) -> HttpResponse:
    if needs_exact_bytes(outgoing.headers):
        return await send_exact(
            outgoing.method,
            outgoing.url,
            outgoing.headers,
            data,
            timeout=options.timeout,
            tls=state.tls,
            blob_dir=read.blob_dir,
            limit=read.limit,
        )
    assert state.http is not None
    async with state.http.request(
        outgoing.method,
        yarl.URL(outgoing.url, encoded=True),
        headers=outgoing.headers,
        data=data,
        expect100=outgoing.expect_continue,
        allow_redirects=False,
    ) as reply:
        read.status = reply.status
        # Held like recorded headers: UTF-8 text, other bytes escaped (model.header_text).
        headers = tuple((header_text(key), header_text(value)) for key, value in reply.raw_headers)
        encoding = reply.headers.get("Content-Encoding")
        if small_enough(reply.content_length, encoding, read.limit):
            # The common small answer: its Content-Length bounds what aiohttp reads.
            return HttpResponse(status=reply.status, headers=headers, body=Body.of(await reply.read()))
        try:
            body = await read_body(reply.content.iter_chunked(1 << 16), encoding, read.blob_dir, read.limit)
        except AnswerTooLarge:
            # Drop the connection rather than drain a body that may never end.
            reply.close()
            raise
        return HttpResponse(status=reply.status, headers=headers, body=body)


async def _note_stall(state: TargetState, options: ReplayOptions) -> None:
    """Count a timeout or refusal; after ``unresponsive_after`` in a row, probe the target once."""
    if not state.answered or state.unresponsive is not None:
        return  # a target that never answered is handled by _note_failure
    state.stalls_in_a_row += 1
    if state.stalls_in_a_row < options.unresponsive_after:
        return
    async with state.probe_lock:
        if state.unresponsive is not None or state.stalls_in_a_row < options.unresponsive_after:
            return  # another session probed meanwhile
        failure = await _probe(state, options)
        if failure is None:
            state.stalls_in_a_row = 0
        else:
            state.unresponsive = (
                f"{state.stalls_in_a_row} calls in a row got no answer and a probe of "
                f"{state.target.endpoint} did not either ({failure})"
            )


async def _probe(state: TargetState, options: ReplayOptions) -> str | None:
    """None when the target answers anything at all to a plain GET of its endpoint, else why not."""
    timeout = aiohttp.ClientTimeout(total=options.timeout)
    connector = aiohttp.TCPConnector(limit=1, ssl=state.tls)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as probe:
        if state.pacer is not None:
            await state.pacer.wait()
        try:
            async with probe.get(state.target.endpoint, allow_redirects=False) as reply:
                reply.close()
                return None
        except Exception as error:
            return classify(error, state.target.endpoint)[1]


def _note_failure(state: TargetState, kind: str, message: str) -> None:
    if state.answered:
        return
    if kind == "connection-refused":
        state.down = {"kind": kind, "message": message}
    elif kind == "timeout":
        state.timeouts_in_a_row += 1
        if state.timeouts_in_a_row >= _DOWN_AFTER_TIMEOUTS:
            state.down = {"kind": kind, "message": message}


def classify(error: BaseException, endpoint: str) -> tuple[str, str]:
    """The error kind of a transport fault and a sentence saying what happened."""
    if isinstance(error, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError | ssl.SSLError):
        return "tls", f"TLS handshake with {endpoint} failed: {_reason(error)}"
    if isinstance(error, aiohttp.ClientConnectorError):
        if error.os_error.errno == errno.ECONNREFUSED or isinstance(error.os_error, ConnectionRefusedError):
            return "connection-refused", f"{endpoint} refused the connection"
        return "connection-refused", f"cannot connect to {endpoint}: {_reason(error.os_error)}"
    if isinstance(error, TimeoutError | asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return "timeout", f"{endpoint} did not answer in time"
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return "reset", f"{endpoint} closed the connection without answering"
    if isinstance(error, ConnectionResetError | BrokenPipeError) or (
        isinstance(error, aiohttp.ClientOSError) and error.errno in (errno.ECONNRESET, errno.EPIPE)
    ):
        return "reset", f"{endpoint} reset the connection"
    if isinstance(error, UndecodableBody):
        return "protocol", f"{endpoint} sent a body that does not decode: {_reason(error)}"
    if isinstance(error, aiohttp.ClientResponseError | aiohttp.ClientPayloadError):
        return "protocol", f"{endpoint} did not answer valid HTTP: {_reason(error)}"
    if isinstance(error, aiohttp.ClientError):
        return "protocol", f"talking to {endpoint} failed: {_reason(error)}"
    if isinstance(error, ConnectionRefusedError):
        return "connection-refused", f"{endpoint} refused the connection"
    if isinstance(error, OSError):
        return "reset", f"talking to {endpoint} failed: {_reason(error)}"
    if isinstance(error, http.client.HTTPException):
        return "protocol", f"{endpoint} did not answer valid HTTP: {_reason(error)}"
    raise error


def _reason(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:300]
