"""SigV2 for the Query APIs: our signer against botocore's own ``SigV2Auth`` (independent test
vectors), re-signing of recorded SigV2 Query calls (fresh Timestamp, SigV4 on request), and the
recorder identifying them on an unknown host.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import time
from urllib.parse import parse_qsl, urlsplit

import botocore.auth
import botocore.credentials
import pytest
from botocore.awsrequest import AWSRequest

from compat_diff.aws.auth import is_sigv2_query_api, parse_auth
from compat_diff.aws.identify import identify
from compat_diff.aws.redact import redact_request
from compat_diff.aws.signing import SigningCredentials, sign_query_api_v2, sigv2_string_to_sign
from compat_diff.model import Auth
from compat_diff.replay.retarget import rebuild
from compat_diff.replay.targets import Target
from compat_diff.testing import make_exchange, make_request

KEY = SigningCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
FIXED = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def _botocore_sigv2(method: str, url: str, params: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict:
    """What botocore's SigV2Auth makes of ``params`` at FIXED, as the params it would send."""
    monkeypatch.setattr(botocore.auth.time, "gmtime", lambda *_: FIXED.timetuple())
    creds = botocore.credentials.Credentials(KEY.access_key, KEY.secret_key)
    request = AWSRequest(method=method, url=url, data=dict(params) if method == "POST" else None)
    if method != "POST":
        request.params = dict(params)
    botocore.auth.SigV2Auth(creds).add_auth(request)
    return dict(request.data if method == "POST" else request.params)


@pytest.mark.parametrize(
    ("method", "url", "params"),
    [
        (
            "POST",
            "http://127.0.0.1:8773/services/compute",
            {"Action": "DescribeInstances", "Version": "2016-11-15"},
        ),
        (
            "GET",
            "https://ec2.example.test/",
            {
                "Action": "RunInstances",
                "ImageId": "ami-1",
                "MinCount": "1",
                "MaxCount": "1",
                "Version": "2016-11-15",
            },
        ),
        (
            "POST",
            "http://cloud.example.test:7080/awsapi",
            # Characters that must be percent-encoded (space, slash, plus, unicode, tilde kept).
            {
                "Action": "CreateTags",
                "Tag.1.Value": "a b/c+d é ~x_y.z",
                "Tag.1.Key": "Name",
                "Version": "2016-11-15",
            },
        ),
    ],
)
def test_signature_matches_botocore_sigv2auth(method, url, params, monkeypatch) -> None:
    expected = _botocore_sigv2(method, url, params, monkeypatch)
    encoded = "&".join(f"{k}={v}" for k, v in params.items())
    from urllib.parse import urlencode

    encoded = urlencode(params)
    headers = (
        [("Host", urlsplit(url).netloc), ("Content-Type", FORM)]
        if method == "POST"
        else [("Host", urlsplit(url).netloc)]
    )
    if method == "POST":
        out_url, _, body = sign_query_api_v2(method, url, headers, encoded.encode(), KEY, clock=lambda: FIXED)
        sent = dict(parse_qsl(body.decode(), keep_blank_values=True))
    else:
        out_url, _, body = sign_query_api_v2(
            method, f"{url}?{encoded}", headers, b"", KEY, clock=lambda: FIXED
        )
        sent = dict(parse_qsl(urlsplit(out_url).query, keep_blank_values=True))
        assert body == b""
    assert sent["Signature"] == expected["Signature"]
    assert sent == {k: str(v) for k, v in expected.items()}


def test_hmac_sha1_is_kept_and_verifies() -> None:
    url = "http://127.0.0.1:8773/services/Euare/?Action=ListUsers&Version=2010-05-08"
    out_url, _, _ = sign_query_api_v2(
        "GET", url, [("Host", "127.0.0.1:8773")], b"", KEY, signature_method="HmacSHA1", clock=lambda: FIXED
    )
    params = dict(parse_qsl(urlsplit(out_url).query))
    assert params["SignatureMethod"] == "HmacSHA1"
    signature = params.pop("Signature")
    _, to_sign = sigv2_string_to_sign("GET", "127.0.0.1:8773", "/services/Euare/", params.items())
    mac = hmac.new(KEY.secret_key.encode(), to_sign.encode(), hashlib.sha1).digest()
    assert signature == base64.b64encode(mac).decode()


def _recorded_sigv2_call(timestamp: str = "2020-01-01T00:00:00Z") -> tuple:
    form = (
        "Action=DescribeKeyPairs&Version=2016-11-15&AWSAccessKeyId=AKIARECORDED&SignatureVersion=2"
        f"&SignatureMethod=HmacSHA256&Timestamp={timestamp.replace(':', '%3A')}&Signature=abc%2Fdef%3D"
    )
    return make_request(
        "POST",
        "http://euca.example.test:8773/services/compute/",
        headers=[("Host", "euca.example.test:8773"), ("Content-Type", FORM)],
        body=form.encode(),
    )


def test_recorder_identifies_a_sigv2_query_call_on_an_unknown_host() -> None:
    request = _recorded_sigv2_call()
    assert is_sigv2_query_api(request)
    auth = parse_auth(request)
    assert auth.scheme == "sigv2-query" and auth.access_key == "AKIARECORDED"
    op = identify(request)
    assert (op.service, op.operation, op.protocol) == ("ec2", "DescribeKeyPairs", "ec2")
    redacted = redact_request(request, op)
    form = dict(parse_qsl(redacted.body.read().decode()))
    assert form["Signature"] != "abc/def=" and "abc" not in redacted.body.read().decode()


def test_the_endpoint_path_names_the_service_when_the_action_is_ambiguous() -> None:
    # GetMetricStatistics exists only in CloudWatch, but ListUsers without a Version could be any
    # IAM-like service: the Eucalyptus path decides.
    request = make_request(
        "GET",
        "http://euca.example.test:8773/services/Euare?Action=ListUsers&AWSAccessKeyId=K"
        "&SignatureVersion=2&SignatureMethod=HmacSHA256&Timestamp=2020-01-01T00%3A00%3A00Z&Signature=x",
    )
    assert identify(request).service == "iam"


def test_unsigned_action_without_a_known_version_is_not_taken_for_aws() -> None:
    request = make_request("GET", "http://shop.example.test/cart?Action=Checkout")
    assert identify(request).service is None


def _rebuilt(target: Target, clock=lambda: FIXED):
    request = _recorded_sigv2_call()
    exchange = make_exchange(
        1,
        request,
        service="ec2",
        operation="DescribeKeyPairs",
        region="eucalyptus",
        protocol="ec2",
        auth=Auth(scheme="sigv2-query", access_key="AKIARECORDED"),
    )
    return rebuild(exchange, target, clock=clock)


def test_replay_resigns_sigv2_with_a_fresh_timestamp_behind_another_prefix() -> None:
    target = Target(name="t", endpoint="http://127.0.0.1:9999/other/prefix", credentials=KEY)
    out = _rebuilt(target)
    assert urlsplit(out.url).path == "/other/prefix/"
    form = dict(parse_qsl(out.body.decode()))
    assert form["Timestamp"] == "2026-03-04T05:06:07Z"
    assert form["AWSAccessKeyId"] == KEY.access_key and form["SignatureVersion"] == "2"
    assert form["Action"] == "DescribeKeyPairs" and form["Version"] == "2016-11-15"
    assert dict(out.headers)["Content-Length"] == str(len(out.body))
    signature = form.pop("Signature")
    _, to_sign = sigv2_string_to_sign("POST", "127.0.0.1:9999", "/other/prefix/", form.items())
    mac = hmac.new(KEY.secret_key.encode(), to_sign.encode(), hashlib.sha256).digest()
    assert signature == base64.b64encode(mac).decode()
    assert not any(name.lower() == "authorization" for name, _ in out.headers)


def test_replay_resigns_sigv2_query_as_sigv4_when_the_target_says_v4() -> None:
    target = Target(name="t", endpoint="http://127.0.0.1:9999", credentials=KEY, sigv2="v4", region="r1")
    out = _rebuilt(target)
    form = dict(parse_qsl(out.body.decode()))
    assert not {"Signature", "AWSAccessKeyId", "SignatureVersion", "Timestamp"} & set(form)
    authorization = dict(out.headers)["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260304/r1/ec2/aws4_request")
    assert urlsplit(out.url).path == "/"


def test_per_service_credentials_sign_the_query_call() -> None:
    other = SigningCredentials("AKIDEC2ONLY", "secret2")
    target = Target(
        name="t", endpoint="http://127.0.0.1:9999", credentials=KEY, service_credentials={"ec2": other}
    )
    form = dict(parse_qsl(_rebuilt(target).body.decode()))
    assert form["AWSAccessKeyId"] == "AKIDEC2ONLY"


def test_timestamps_follow_the_clock() -> None:
    target = Target(name="t", endpoint="http://127.0.0.1:9999", credentials=KEY)
    later = FIXED + dt.timedelta(hours=5)
    form = dict(parse_qsl(_rebuilt(target, clock=lambda: later).body.decode()))
    assert form["Timestamp"] == "2026-03-04T10:06:07Z"
    assert time.strptime(form["Timestamp"], "%Y-%m-%dT%H:%M:%SZ")
