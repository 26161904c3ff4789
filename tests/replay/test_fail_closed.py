"""Redaction fails closed: a truncated or malformed answer that may carry secrets is redacted by
pattern, never written as it came, both by the replay (a hostile candidate as its own process)
and by the recorder (tests/capture/test_secrets_fail_closed.py).
"""

from __future__ import annotations

from pathlib import Path

from compat_diff.testing import run_cli
from tests.replay.test_hostile_answers import hostile  # noqa: F401  (the fixture)

SECRET = "wJalrXUtnFEMI-truncated-candidate-secret-0123"
TOKEN = "FQoGZXIvYXdzEXAMPLE-truncated-session-token-4567"
# An STS answer cut inside its session token, as a connection that dropped would leave it.
TRUNCATED_XML = (
    '<GetSessionTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    "<GetSessionTokenResult><Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId>"
    f"<SecretAccessKey>{SECRET}</SecretAccessKey><SessionToken>{TOKEN}"
)
# A Secrets Manager answer whose JSON is malformed (a stray brace) with the secret inside.
MALFORMED_JSON = f'{{"ARN": "arn:aws:secretsmanager:us-east-1:1:secret:x", "SecretString": "{SECRET}"}}}}'
# A well-formed answer large enough to be spooled to the run directory as it arrives (over 256 KiB):
# its unredacted bytes must not stay in the blob folder.
LARGE_JSON = (
    f'{{"ARN": "arn:aws:secretsmanager:us-east-1:1:secret:x", "Name": "{"n" * 300_000}", '
    f'"SecretString": "{SECRET}"}}'
)


def _everything_under(directory: Path) -> bytes:
    return b"\n".join(path.read_bytes() for path in directory.rglob("*") if path.is_file())


def _record_sts(moto_factory, boto_recorder) -> Path:
    reference = moto_factory()
    recorder = boto_recorder()
    recorder.client("sts", reference.url).get_session_token()
    recorder.client("secretsmanager", reference.url).create_secret(Name="x", SecretString="recorded")
    recorder.client("secretsmanager", reference.url).get_secret_value(SecretId="x")
    recorder.close()
    return recorder.writer.path


def test_replay_redacts_a_truncated_or_malformed_answer(moto_factory, boto_recorder, hostile, tmp_path):  # noqa: F811
    recording = _record_sts(moto_factory, boto_recorder)
    for name, content_type, body in (
        ("xml", "text/xml", TRUNCATED_XML),
        ("json", "application/x-amz-json-1.1", MALFORMED_JSON),
        ("large", "application/x-amz-json-1.1", LARGE_JSON),
    ):
        source = recording
        if name == "large":
            # Only the call whose model marks SecretString sensitive: answered to an STS call, the same
            # well-formed body holds no member STS marks sensitive, so it is kept as it is.
            lines = recording.read_text().splitlines(keepends=True)
            source = tmp_path / "rec-get-secret-value.jsonl"
            source.write_text(lines[0] + "".join(line for line in lines[1:] if '"GetSecretValue"' in line))
        answer = tmp_path / f"answer.{name}"
        answer.write_text(body)
        candidate = hostile("file", content_type, answer)
        report = tmp_path / f"report-{name}"
        result = run_cli(
            "compare", str(source), "--target", f"bad={candidate.url}", "--report-dir", str(report)
        )
        assert result.returncode in (0, 1), result.stderr
        written = _everything_under(report)
        assert (report / "run" / "targets" / "bad" / "answers.jsonl").exists()
        for secret in (SECRET, TOKEN):
            assert secret.encode() not in written, f"{secret} left in the {name} run"
        answers = report / "run" / "targets" / "bad" / "answers.jsonl"
        blobs = list(answers.with_name("answers.jsonl.blobs").glob("*"))
        if name == "large":
            # The redacted answer is stored as a blob; the spooled original is gone.
            assert len(blobs) == 1 and b"**REDACTED**" in b"".join(blob.read_bytes() for blob in blobs)
        else:
            assert b"**REDACTED**" in answers.read_bytes()
