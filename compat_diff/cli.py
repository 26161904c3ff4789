"""The command line: a thin click layer mapping each command to one ``run_*`` function and its
outcome to an exit code (spec section 1). No logic lives here.

Layers are imported inside each command so that ``--help`` stays fast and a command never pays
for libraries it does not use (mitmproxy, aiohttp, deepdiff).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from compat_diff import __version__
from compat_diff.errors import CompatDiffError
from compat_diff.model import ExitStatus

EPILOG_EXIT = "Exit codes: 0 no divergence, 1 divergences found, 2 usage or input error, 3 could not run."


class Context:
    """What every command needs from its surroundings, injected so tests can run commands in-process."""

    def __init__(self, debug: bool = False) -> None:
        from rich.console import Console

        self.debug = debug
        self.out = Console(soft_wrap=True, highlight=False)
        self.err = Console(stderr=True, soft_wrap=True, highlight=False)


def _run(ctx: Context, action: Callable[[], int | ExitStatus]) -> None:
    try:
        status = action()
    except CompatDiffError as error:
        ctx.err.print(f"compat-diff: {error}", markup=False)
        sys.exit(int(error.exit_status))
    except KeyboardInterrupt:
        ctx.err.print("compat-diff: interrupted", markup=False)
        sys.exit(130)
    except Exception as error:
        if ctx.debug:
            raise
        ctx.err.print(
            f"compat-diff: internal error: {type(error).__name__}: {error} "
            "(run again with --debug for details)",
            markup=False,
        )
        sys.exit(int(ExitStatus.CANNOT_RUN))
    sys.exit(int(status))


pass_ctx = click.make_pass_decorator(Context)

targets_options: list[Callable[[Any], Any]] = [
    click.option(
        "--target",
        "targets",
        multiple=True,
        metavar="NAME=URL",
        help="A candidate: a name and its endpoint URL; credentials come from the standard AWS chain. "
        "NAME alone takes the endpoints the AWS CLI is configured with (AWS_ENDPOINT_URL, "
        "AWS_ENDPOINT_URL_<SERVICE>, endpoint_url and services in ~/.aws/config).",
    ),
    click.option(
        "--profile",
        default=None,
        help="The AWS CLI profile whose credentials, region and endpoints the --target candidates use.",
    ),
    click.option(
        "--region",
        default=None,
        help="The region the --target candidates are signed for "
        "(default: the profile's, else the one each call was recorded with).",
    ),
    click.option(
        "--targets",
        "targets_file",
        type=click.Path(path_type=Path),
        help="A TOML targets file (spec section 2) with endpoints, regions, credentials and principals.",
    ),
    click.option(
        "--allow-aws", is_flag=True, help="Allow a target on a real AWS endpoint (refused by default)."
    ),
]

replay_options: list[Callable[[Any], Any]] = [
    click.option(
        "--concurrency",
        default=8,
        show_default=True,
        type=click.IntRange(1, 1024),
        help="Sessions replayed at once per target (calls within a session keep their order).",
    ),
    click.option(
        "--timeout",
        default=30.0,
        show_default=True,
        type=click.FloatRange(0.1, 3600),
        help="Seconds to wait for each answer before recording a timeout.",
    ),
    click.option(
        "--read-only",
        is_flag=True,
        help="Skip operations that change state (only Get/List/Describe/Head/Query/Scan ... are sent).",
    ),
    click.option(
        "--retry-throttled",
        default=0,
        show_default=True,
        type=click.IntRange(0, 10),
        help="Retries for throttling answers (off by default: retries change what is compared).",
    ),
    click.option(
        "--max-answer-bytes",
        type=click.IntRange(1),
        help="Cut off an answer whose (decoded) body is larger, recorded as too-large "
        "[default: 67108864 (64 MiB), or the targets file's replay.max_answer_bytes].",
    ),
    click.option(
        "--unresponsive-after",
        type=click.IntRange(1, 10000),
        help="Timeouts or refused connections in a row after which a target that answered before is "
        "probed once and, if still silent, its remaining calls are not run [default: 5].",
    ),
    click.option(
        "--max-rate",
        type=click.FloatRange(0, min_open=True),
        metavar="N",
        help="Send at most N requests per second to each target (0.5: one every 2 seconds), evenly "
        "spaced, retries and repeated polls included; a target's own max_rate in the targets file "
        "applies too, the lower one wins [default: no limit].",
    ),
    click.option(
        "--no-timeshift",
        is_flag=True,
        help="Send absolute times (If-Modified-Since, object-lock dates, Expires ...) as recorded instead "
        "of moved by the time elapsed since the recording.",
    ),
    click.option(
        "--poll-timeout",
        default=30.0,
        show_default=True,
        type=click.FloatRange(0, 3600),
        help="Seconds a read-only call whose recorded answer reports a state (ACTIVE, SUCCEEDED ...) "
        "is asked again until the candidate reports it too; 0 sends it once.",
    ),
    click.option(
        "--keep-resources",
        is_flag=True,
        help="Do not delete what the run created on the targets afterwards "
        "(delete it later with: compat-diff cleanup RUN_DIR).",
    ),
]

diff_options: list[Callable[[Any], Any]] = [
    click.option(
        "--report-dir",
        required=True,
        type=click.Path(path_type=Path),
        help="Where report.json, index.html, junit.xml, summary.md and badges are written.",
    ),
    click.option(
        "--normalizers",
        "normalizer_paths",
        multiple=True,
        type=click.Path(path_type=Path),
        help="Extra YAML rule files or folders, applied after the default packs.",
    ),
    click.option("--no-default-rules", is_flag=True, help="Do not load the default normalizer packs."),
    click.option(
        "--fail-under",
        "fail_under",
        multiple=True,
        metavar="[SCOPE=]SCORE",
        help="Gate on scores instead of on every divergence: 0.9 or 90% for every target, s3=0.9 for a "
        "service, swift=0.8 for a target, swift/s3=95% for both. Repeatable.",
    ),
    click.option(
        "--baseline",
        type=click.Path(path_type=Path),
        help="An earlier report.json (or its report directory): fail only on divergences that are new, "
        "and list the fixed ones.",
    ),
    click.option(
        "--known",
        type=click.Path(path_type=Path),
        help="A known-divergences YAML file: listed divergences are shown as known and do not fail.",
    ),
]


def _apply(options: list[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    def decorate(function: Any) -> Any:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


@click.group(epilog=EPILOG_EXIT, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="compat-diff")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.pass_context
def main(click_ctx: click.Context, debug: bool) -> None:
    """Record AWS traffic once, replay it against AWS-compatible clouds, and report where they diverge.

    \b
    Typical use:
      compat-diff record --out rec.jsonl -- python my_script.py     # through AWS (or a stand-in)
      compat-diff compare rec.jsonl --target swift=http://127.0.0.1:8080 --report-dir report/
    """
    click_ctx.obj = Context(debug=debug)


@main.command(epilog=EPILOG_EXIT)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="The recording to write (JSONL); an existing file is kept unless --force is given.",
)
@click.option(
    "--force", is_flag=True, help="Replace an existing recording at --out."
)
@click.option(
    "--listen",
    default="127.0.0.1:0",
    show_default=True,
    metavar="HOST:PORT",
    help="Where the proxy listens (port 0 picks a free one when a COMMAND is given).",
)
@click.option(
    "--session", default="default", show_default=True, help="Session name written on every exchange."
)
@click.option(
    "--ssl-insecure", is_flag=True, help="Accept self-signed certificates from the upstream server."
)
@click.option(
    "--max-body-bytes",
    type=click.IntRange(0),
    default=None,
    help="Bodies above this size keep only their sha256; the exchange is marked not replayable.",
)
@click.option(
    "--confdir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where the proxy's CA lives (default: ~/.compat-diff/mitmproxy).",
)
@click.option(
    "--label",
    "labels",
    multiple=True,
    metavar="KEY=VALUE",
    help="Write KEY=VALUE into the recording's header; reports show `reference` and `client`, e.g. "
    "--label 'reference=AWS us-east-1, account 1234'.",
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@pass_ctx
def record(
    ctx: Context,
    out: Path,
    force: bool,
    listen: str,
    session: str,
    ssl_insecure: bool,
    max_body_bytes: int | None,
    confdir: Path | None,
    labels: tuple[str, ...],
    command: tuple[str, ...],
) -> None:
    """Record AWS calls through a forward HTTP(S) proxy into a recording.

    \b
    With a COMMAND (after --), the proxy starts on a free loopback port, the command runs with
    HTTP_PROXY, HTTPS_PROXY, AWS_CA_BUNDLE, REQUESTS_CA_BUNDLE, SSL_CERT_FILE (system roots plus
    the proxy CA) and NODE_EXTRA_CA_CERTS set and loopback removed from NO_PROXY, and compat-diff
    exits with the command's status after printing what it recorded (on stderr), or with 3 when
    the command succeeded but none of the requests it made through the proxy was an AWS call:
      compat-diff record --out rec.jsonl -- aws s3 ls
    Without a COMMAND it prints the lines to export and records until interrupted (Ctrl-C).
    If the recording cannot be written, the proxy answers 502 and stops (exit 3): no call goes
    through unrecorded. An existing recording at --out is never truncated: record to a new
    file, or pass --force to replace it.
    """
    from compat_diff.capture.run import run_record

    _run(
        ctx,
        lambda: run_record(
            out=out,
            force=force,
            listen=listen,
            session=session,
            ssl_insecure=ssl_insecure,
            max_body_bytes=max_body_bytes,
            confdir=confdir,
            command=list(command),
            labels=list(labels),
            console=ctx.out,
            err=ctx.err,
        ),
    )


@main.command()
@click.argument("recording", type=click.Path(path_type=Path))
@pass_ctx
def inspect(ctx: Context, recording: Path) -> None:
    """List a recording: one line per exchange (seq, service, operation, status), damaged lines flagged."""
    from compat_diff.recording.inspect import run_inspect

    _run(ctx, lambda: run_inspect(recording, ctx.out, ctx.err))


@main.command(epilog=EPILOG_EXIT)
@click.argument("recording", type=click.Path(path_type=Path))
@_apply(targets_options)
@click.option(
    "--out", type=click.Path(path_type=Path), help="The run directory to write (required unless --resume)."
)
@click.option(
    "--resume",
    type=click.Path(path_type=Path),
    help="Continue an interrupted run in this run directory: its answers are kept, the calls it did not "
    "send are replayed (same recording and targets).",
)
@_apply(replay_options)
@pass_ctx
def replay(
    ctx: Context,
    recording: Path,
    targets: tuple[str, ...],
    profile: str | None,
    region: str | None,
    targets_file: Path | None,
    allow_aws: bool,
    out: Path | None,
    resume: Path | None,
    concurrency: int,
    timeout: float,
    read_only: bool,
    retry_throttled: int,
    max_answer_bytes: int | None,
    unresponsive_after: int | None,
    max_rate: float | None,
    no_timeshift: bool,
    poll_timeout: float,
    keep_resources: bool,
) -> None:
    """Replay a recording against one or more candidate clouds and keep what each answered.

    Every request is re-targeted, re-signed for the candidate's credentials, and ids the
    candidate generates are mapped onto the recorded ones. Names the recording created get a
    run id of their own per target (targets file: names = "as-recorded" to keep them), absolute
    times move with the replay, and what the run created is deleted afterwards.
    """
    from compat_diff.replay.run import run_replay

    if out is None and resume is None:
        raise click.UsageError("--out RUN_DIR is required (or --resume RUN_DIR to continue a run)")
    if out is not None and resume is not None and out != resume:
        raise click.UsageError("--resume continues the run in its own directory: leave out --out")
    run_directory: Path = resume or out  # type: ignore[assignment]  # one of them is set (checked above)
    _run(
        ctx,
        lambda: run_replay(
            recording=recording,
            targets=list(targets),
            targets_file=targets_file,
            allow_aws=allow_aws,
            profile=profile,
            region=region,
            out=run_directory,
            resume=resume is not None,
            concurrency=concurrency,
            timeout=timeout,
            read_only=read_only,
            retry_throttled=retry_throttled,
            console=ctx.err,
            max_answer_bytes=max_answer_bytes,
            unresponsive_after=unresponsive_after,
            max_rate=max_rate,
            timeshift=not no_timeshift,
            poll_timeout=poll_timeout,
            keep_resources=keep_resources,
        ),
    )


@main.command(epilog=EPILOG_EXIT)
@click.argument("run_dir", type=click.Path(path_type=Path))
@_apply(diff_options)
@pass_ctx
def diff(
    ctx: Context,
    run_dir: Path,
    report_dir: Path,
    normalizer_paths: tuple[Path, ...],
    no_default_rules: bool,
    fail_under: tuple[str, ...],
    baseline: Path | None,
    known: Path | None,
) -> None:
    """Compare a run directory with its recording and write the report."""
    from compat_diff.compare.run import run_diff

    _run(
        ctx,
        lambda: run_diff(
            run_dir=run_dir,
            report_dir=report_dir,
            normalizer_paths=list(normalizer_paths),
            default_rules=not no_default_rules,
            fail_under=list(fail_under),
            console=ctx.out,
            baseline=baseline,
            known=known,
            environ=dict(os.environ),
        ),
    )


@main.command(epilog=EPILOG_EXIT)
@click.argument("recording", type=click.Path(path_type=Path))
@_apply(targets_options)
@_apply(diff_options)
@click.option(
    "--run-dir",
    type=click.Path(path_type=Path),
    help="Keep the replay's run directory here (default: inside the report directory).",
)
@click.option(
    "--resume",
    type=click.Path(path_type=Path),
    help="Continue an interrupted run in this run directory, then report on the whole run.",
)
@click.option(
    "--no-preflight",
    is_flag=True,
    help="Do not check the targets (reachable, credentials accepted, the service behind the path) "
    "before replaying.",
)
@_apply(replay_options)
@pass_ctx
def compare(
    ctx: Context,
    recording: Path,
    targets: tuple[str, ...],
    profile: str | None,
    region: str | None,
    targets_file: Path | None,
    allow_aws: bool,
    report_dir: Path,
    normalizer_paths: tuple[Path, ...],
    no_default_rules: bool,
    fail_under: tuple[str, ...],
    baseline: Path | None,
    known: Path | None,
    run_dir: Path | None,
    resume: Path | None,
    no_preflight: bool,
    concurrency: int,
    timeout: float,
    read_only: bool,
    retry_throttled: int,
    max_answer_bytes: int | None,
    unresponsive_after: int | None,
    max_rate: float | None,
    no_timeshift: bool,
    poll_timeout: float,
    keep_resources: bool,
) -> None:
    """Replay and diff in one go: the report for a recording against candidates."""
    from compat_diff.compare.run import run_diff
    from compat_diff.replay.run import run_replay

    run_directory = resume or run_dir or report_dir / "run"

    def both() -> int:
        from compat_diff.compare.gating import check_gate_options
        from compat_diff.replay.run import INTERRUPTED

        check_gate_options(fail_under, baseline, known)
        status = run_replay(
            recording=recording,
            targets=list(targets),
            targets_file=targets_file,
            allow_aws=allow_aws,
            profile=profile,
            region=region,
            out=run_directory,
            concurrency=concurrency,
            timeout=timeout,
            read_only=read_only,
            retry_throttled=retry_throttled,
            console=ctx.err,
            max_answer_bytes=max_answer_bytes,
            unresponsive_after=unresponsive_after,
            max_rate=max_rate,
            timeshift=not no_timeshift,
            poll_timeout=poll_timeout,
            keep_resources=keep_resources,
            preflight=not no_preflight and resume is None,
            resume=resume is not None,
        )
        if status == ExitStatus.CANNOT_RUN:
            return status
        reported = run_diff(
            run_dir=run_directory,
            report_dir=report_dir,
            normalizer_paths=list(normalizer_paths),
            default_rules=not no_default_rules,
            fail_under=list(fail_under),
            console=ctx.out,
            baseline=baseline,
            known=known,
            environ=dict(os.environ),
        )
        # An interrupted replay still gets the report of the part that ran, and exits as interrupted.
        return status if status == INTERRUPTED else reported

    _run(ctx, both)


@main.command("check-targets", epilog="Exit codes: 0 every check passed, 2 something is wrong or bad input.")
@_apply(targets_options)
@click.option(
    "--recording",
    type=click.Path(path_type=Path),
    help="Check the services this recording uses (default: the target's services, else s3).",
)
@click.option(
    "--timeout", default=10.0, show_default=True, type=click.FloatRange(0.1, 600), help="Seconds per check."
)
@pass_ctx
def check_targets(
    ctx: Context,
    targets: tuple[str, ...],
    profile: str | None,
    region: str | None,
    targets_file: Path | None,
    allow_aws: bool,
    recording: Path | None,
    timeout: float,
) -> None:
    """Check that each target is set up for a replay, one line per target and service.

    For each service: the endpoint answers (TLS as configured), one harmless signed call
    (ListBuckets, GetCallerIdentity, DescribeRegions ...) is accepted, and the answer comes
    from the service rather than a web server's 404 page. compare runs the same checks first
    (--no-preflight skips them).
    """
    from compat_diff.replay.preflight_run import run_check_targets

    _run(
        ctx,
        lambda: run_check_targets(
            list(targets),
            targets_file,
            recording=recording,
            allow_aws=allow_aws,
            profile=profile,
            region=region,
            timeout=timeout,
            console=ctx.out,
        ),
    )


@main.command(epilog="Exit codes: 0 everything deleted, 1 something could not be deleted, 2 input error.")
@click.argument("run_dir", type=click.Path(path_type=Path))
@_apply(targets_options)
@click.option(
    "--cleanup-timeout",
    default=120.0,
    show_default=True,
    type=click.FloatRange(1, 3600),
    help="Seconds the cleanup may take per target.",
)
@pass_ctx
def cleanup(
    ctx: Context,
    run_dir: Path,
    targets: tuple[str, ...],
    profile: str | None,
    region: str | None,
    targets_file: Path | None,
    allow_aws: bool,
    cleanup_timeout: float,
) -> None:
    """Delete what a replay created on its targets (what it did not delete itself).

    Reads RUN_DIR/targets/NAME/names.json and undoes, newest first, every call listed there:
    deletes what was created, terminates instances, releases addresses, detaches and removes
    what was attached or added (before the user, role or VPC it belongs to), and waits for an
    instance to be terminated before its subnet goes. Every call is appended to
    RUN_DIR/targets/NAME/cleanup.jsonl; run again, it reports everything already gone. The targets are
    given as for replay (their credentials are never stored in the run directory); without
    --target/--targets the run's own endpoints are used with the standard AWS credential chain.
    """
    from compat_diff.replay.cleanup_run import run_cleanup

    _run(
        ctx,
        lambda: run_cleanup(
            run_dir,
            list(targets),
            targets_file,
            allow_aws=allow_aws,
            profile=profile,
            region=region,
            seconds=cleanup_timeout,
            console=ctx.err,
        ),
    )


@main.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--report-dir", required=True, type=click.Path(path_type=Path), help="Where to write the report."
)
@pass_ctx
def report(ctx: Context, source: Path, report_dir: Path) -> None:
    """Re-render the report from a run directory's results or a report.json, without re-running."""
    from compat_diff.report.run import run_report

    _run(
        ctx,
        lambda: run_report(source=source, report_dir=report_dir, console=ctx.out, environ=dict(os.environ)),
    )


@main.command("learn-noise")
@click.argument("recording", type=click.Path(path_type=Path))
@click.option(
    "--against",
    required=True,
    type=click.Path(path_type=Path),
    help="A run directory replayed against the reference itself, or a second recording of the same script.",
)
@click.option(
    "--out", required=True, type=click.Path(path_type=Path), help="The suggested rule file to write (YAML)."
)
@click.option(
    "--normalizers",
    "normalizer_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Rule files or folders already in force; only noise they leave is suggested.",
)
@click.option("--no-default-rules", is_flag=True, help="Do not apply the default normalizer packs first.")
@pass_ctx
def learn_noise(
    ctx: Context,
    recording: Path,
    against: Path,
    out: Path,
    normalizer_paths: tuple[Path, ...],
    no_default_rules: bool,
) -> None:
    """Learn which paths vary between two runs of the same thing, as a suggested normalizer rule file."""
    from compat_diff.compare.noise import run_learn_noise

    _run(
        ctx,
        lambda: run_learn_noise(
            recording=recording,
            against=against,
            out=out,
            console=ctx.out,
            normalizer_paths=list(normalizer_paths),
            default_rules=not no_default_rules,
        ),
    )


@main.command()
@click.argument("recording", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON instead of a table.")
@pass_ctx
def coverage(ctx: Context, recording: Path, as_json: bool) -> None:
    """Operations a recording exercises per service, against the API model, and which were never called."""
    from compat_diff.coverage import run_coverage

    _run(ctx, lambda: run_coverage(recording, ctx.out, as_json=as_json))


@main.command()
@click.argument("action", type=click.Choice(["up", "down", "status"]))
@click.argument("names", nargs=-1)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    default=Path(".work/candidates"),
    show_default=True,
    help="Where the candidates keep their data, logs and PIDs.",
)
@click.option(
    "--targets-out",
    type=click.Path(path_type=Path),
    default=None,
    help="Where `up` writes the targets file (default: STATE_DIR/targets.toml).",
)
@pass_ctx
def candidates(
    ctx: Context, action: str, names: tuple[str, ...], state_dir: Path, targets_out: Path | None
) -> None:
    """Start, stop or check the real candidate clouds runnable on this machine (all, or the NAMES given)."""
    from compat_diff.candidates.cli import run_candidates

    _run(ctx, lambda: run_candidates(action, list(names), state_dir, targets_out, ctx.out))


@main.command(
    epilog="Example:\n\n\b\n  compat-diff generate s3 sqs dynamodb --out suite/\n"
    "  compat-diff record --out generated.jsonl -- python suite/run_suite.py suite/\n\n"
    "Exit codes: 0 written, 2 unknown service or unwritable folder."
)
@click.argument("services", nargs=-1, required=True)
@click.option(
    "--out", required=True, type=click.Path(path_type=Path), help="The folder to write the suite into."
)
@click.option(
    "--seed",
    default=0,
    show_default=True,
    type=int,
    help="Picks the generated names and values; the same seed gives the same suite, byte for byte.",
)
@pass_ctx
def generate(ctx: Context, services: tuple[str, ...], out: Path, seed: int) -> None:
    """Write a request suite built from the API models of SERVICES: for every operation a minimal valid
    request and invalid variants (each required member missing, wrong types, values outside an enum,
    a range, a length or a pattern, an unknown member, an empty required list), with the calls that
    create what the operation needs before and delete it after. Record it by running the
    run_suite.py written beside it (boto3, client-side validation off) under `compat-diff record`.
    """
    from compat_diff.generate.run import RUNNER_NAME, run_generate

    def action() -> ExitStatus:
        written = run_generate(services, out, seed)
        for item in written:
            ctx.out.print(
                f"{item.service}: {item.operations} operations, {item.cases} cases, "
                f"{item.calls} calls -> {item.path}",
                markup=False,
            )
        total = sum(item.calls for item in written)
        ctx.out.print(
            f"{total} calls in {len(written)} services; record them with: "
            f"compat-diff record --out generated.jsonl -- python {out / RUNNER_NAME} {out}",
            markup=False,
        )
        return ExitStatus.OK

    _run(ctx, action)


@main.command("import", epilog="Exit codes: 0 imported, 2 unreadable input, 3 no AWS call in the file.")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="The recording to write (JSONL).")
@click.option("--session", default="imported", show_default=True, help="The session the calls belong to.")
@pass_ctx
def import_capture(ctx: Context, source: Path, out: Path, session: str) -> None:
    """Turn a HAR file (browsers, mitmproxy, most proxies and devtools write them) or a mitmproxy
    flow file into a recording: AWS calls are identified and their secrets redacted like `record`
    does; it says what could not be used (non-AWS calls, calls without a response, bodies the HAR
    left out)."""
    from compat_diff.capture.importer import run_import

    _run(ctx, lambda: run_import(source, out, session, ctx.out))


SERVICE_EPILOG = (
    "Configuration: --config FILE (TOML, a [service] table), then COMPAT_DIFF_* environment variables, "
    "then these options. See docs/service.md."
)


@main.command(epilog=SERVICE_EPILOG)
@click.option(
    "--config", "config_file", type=click.Path(path_type=Path), help="The service's TOML configuration."
)
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    help="Where the service keeps its database, suites and reports [default: .work/service].",
)
@click.option("--listen", metavar="HOST:PORT", help="Where the API listens [default: 127.0.0.1:8400].")
@click.option(
    "--workers", type=click.IntRange(0, 64), help="Worker threads in this process (0: API only) [default: 2]."
)
@pass_ctx
def serve(
    ctx: Context, config_file: Path | None, data: Path | None, listen: str | None, workers: int | None
) -> None:
    """Run the compatibility service: the HTTP API and pages, and its workers, on one database.

    \b
    With no configuration everything lives under .work/service on SQLite and the API listens on
    127.0.0.1 only. Register providers with the admin token (COMPAT_DIFF_ADMIN_TOKEN):
      COMPAT_DIFF_ADMIN_TOKEN=... compat-diff serve --listen 127.0.0.1:8400
      curl -H 'Authorization: Bearer ...' -d '{"name": "acme"}' http://127.0.0.1:8400/api/v1/providers
    """
    from compat_diff.service.run import run_serve

    _run(ctx, lambda: run_serve(config_file, data, listen, workers, ctx.err))


@main.command(epilog=SERVICE_EPILOG)
@click.option(
    "--config", "config_file", type=click.Path(path_type=Path), help="The service's TOML configuration."
)
@click.option(
    "--data", type=click.Path(path_type=Path), help="The service's data folder (shared with serve)."
)
@click.option("--workers", type=click.IntRange(1, 64), help="Worker threads in this process [default: 2].")
@pass_ctx
def worker(ctx: Context, config_file: Path | None, data: Path | None, workers: int | None) -> None:
    """Run more workers for a service: they take shards from the service's database (PostgreSQL to
    spread over machines) until stopped; a worker that dies loses nothing, its shards are retaken."""
    from compat_diff.service.run import run_worker

    _run(ctx, lambda: run_worker(config_file, data, workers, ctx.err))


@main.command(epilog="Exit codes: 0 valid, 1 invalid (the reason in one sentence), 2 usage or input error.")
@click.argument("attestation", type=click.Path(path_type=Path))
@click.option(
    "--key", type=click.Path(path_type=Path), help="The service's keys.json, or one PEM public key."
)
@click.option(
    "--service", "service_url", metavar="URL", help="Fetch the keys (and bundle, previous link) from it."
)
@click.option(
    "--bundle",
    type=click.Path(path_type=Path),
    help="The run's results bundle [default: results-bundle.json beside the attestation, or from --service].",
)
@click.option(
    "--previous",
    type=click.Path(path_type=Path),
    help="The endpoint's previous attestation (chain check).",
)
@pass_ctx
def verify(
    ctx: Context,
    attestation: Path,
    key: Path | None,
    service_url: str | None,
    bundle: Path | None,
    previous: Path | None,
) -> None:
    """Check a run's signed attestation: signature, expiry, results bundle digest and chain link.

    \b
      compat-diff verify attestation.json --key keys.json --bundle results-bundle.json
      compat-diff verify attestation.json --service https://compat.example.org
    """
    from compat_diff.service.run import run_verify

    _run(ctx, lambda: run_verify(attestation, key, service_url, bundle, previous, ctx.out))


@main.group()
def suite() -> None:
    """Suites: versioned, immutable bundles of recordings the service runs against endpoints."""


@suite.command("build")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--name", help="The suite's name [default: the folder's name].")
@click.option("--version", "suite_version", help="The suite's version [default: 1].")
@pass_ctx
def suite_build(ctx: Context, folder: Path, name: str | None, suite_version: str | None) -> None:
    """Write FOLDER/suite.json for the recordings (*.jsonl) in FOLDER: provenance, digests, and one
    capability state per operation (required, unless FOLDER/capabilities.json says advisory or
    deprecated, e.g. {"s3.GetObjectAcl": "advisory"})."""
    from compat_diff.service.run import run_suite_build

    _run(ctx, lambda: run_suite_build(folder, name, suite_version, ctx.out))
