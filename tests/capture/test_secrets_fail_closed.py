"""The recorder's redaction fails closed: an answer from "AWS" cut inside its credentials is
redacted by pattern, never recorded as it came (`compat-diff record` in front of a server that
answers a truncated STS document).
"""

from __future__ import annotations

import sys

from tests.capture.conftest import record, write_script
from tests.replay.test_fail_closed import SECRET, TOKEN, TRUNCATED_XML
from tests.replay.test_hostile_answers import hostile  # noqa: F401  (the fixture)

RECORDED_CLIENT = """
import sys, boto3
client = boto3.client("sts", endpoint_url=sys.argv[1])
try:
    client.get_session_token()
except Exception as error:  # the truncated answer does not parse for boto3 either
    print("client saw", type(error).__name__)
"""


def test_recorder_redacts_a_truncated_answer(hostile, tmp_path, confdir):  # noqa: F811
    answer = tmp_path / "answer.xml"
    answer.write_text(TRUNCATED_XML)
    server = hostile("file", "text/xml", answer)
    script = write_script(tmp_path, "client.py", RECORDED_CLIENT)
    recorded = record(tmp_path / "rec.jsonl", confdir, [sys.executable, str(script), server.url])
    assert recorded.returncode == 0, recorded.stderr
    content = recorded.path.read_bytes()
    assert b"GetSessionToken" in content
    for secret in (SECRET, TOKEN):
        assert secret.encode() not in content
    assert b"<SessionToken>**REDACTED**" in content
