"""A realistic report document and details.jsonl shaped exactly as docs/formats.md describes,
for testing the writers independently of the diff stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

XSS = '</script><script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'

LIST_BUCKETS_XML = (
    '<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    "<Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>webfile"
    "</DisplayName></Owner><Buckets><Bucket><Name>reports</Name><CreationDate>2026-11-24T10:00:00.000Z"
    "</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>"
)


def _side(status: int, body: str, content_type: str, normalized: Any, url: str) -> dict[str, Any]:
    return {
        "request": {
            "method": "GET",
            "url": url,
            "headers": [
                ["Host", "127.0.0.1"],
                ["User-Agent", "Boto3/1.35"],
                ["Authorization", "AWS4-HMAC-SHA256 <redacted>"],
            ],
            "body": "",
        },
        "response": {
            "status": status,
            "headers": [["Content-Type", content_type], ["x-amz-request-id", "4442587FB7D0A2F9"]],
            "body": body,
        },
        "normalized": normalized,
    }


def sample_report() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Two targets, two services; swift diverges on GetObject's ContentType and on a missing key."""
    content_type = {
        "seq": 2,
        "kind": "value",
        "severity": "major",
        "path": "$.ContentType",
        "reference": "text/plain",
        "candidate": "application/octet-stream",
        "message": "the candidate answered a different value",
        "caused_by": None,
    }
    missing_tag = {
        "seq": 2,
        "kind": "missing",
        "severity": "minor",
        "path": "$.Metadata['owner.team']",
        "reference": "team-a",
        "candidate": None,
        "message": "absent from the candidate",
        "caused_by": None,
    }
    xss_value = {
        "seq": 3,
        "kind": "value",
        "severity": "critical",
        "path": "$.Reservations[0].Instances[0].State.Name",
        "reference": "running",
        "candidate": XSS,
        "message": XSS,
        "caused_by": None,
    }
    not_impl = {
        "seq": 4,
        "kind": "error-code",
        "severity": "critical",
        "path": "$.Error.Code",
        "reference": None,
        "candidate": "NotImplemented",
        "message": "",
        "caused_by": None,
    }
    swift_ops = [
        {
            "service": "s3",
            "operation": "ListBuckets",
            "exchanges": 1,
            "matching": 1,
            "score": 1.0,
            "verdict": "match",
            "rules_fired": ["common.request-id"],
            "divergences": [],
        },
        {
            "service": "s3",
            "operation": "GetObject",
            "exchanges": 1,
            "matching": 0,
            "score": 0.0,
            "verdict": "diverges",
            "rules_fired": ["common.request-id", "s3.etag"],
            "divergences": [content_type, missing_tag],
        },
        {
            "service": "ec2",
            "operation": "DescribeInstances",
            "exchanges": 1,
            "matching": 0,
            "score": 0.0,
            "verdict": "diverges",
            "rules_fired": [],
            "divergences": [xss_value],
        },
        {
            "service": "ec2",
            "operation": "RunInstances",
            "exchanges": 1,
            "matching": 0,
            "score": 0.0,
            "verdict": "not-implemented",
            "rules_fired": [],
            "divergences": [not_impl],
        },
        {
            "service": "s3",
            "operation": "DeleteBucket",
            "exchanges": 1,
            "matching": 0,
            "score": None,
            "verdict": "skipped",
            "rules_fired": [],
            "divergences": [],
        },
    ]
    rclone_ops = [
        {
            "service": "s3",
            "operation": "ListBuckets",
            "exchanges": 1,
            "matching": 1,
            "score": 1.0,
            "verdict": "match",
            "rules_fired": [],
            "divergences": [],
        },
        {
            "service": "s3",
            "operation": "GetObject",
            "exchanges": 1,
            "matching": 1,
            "score": 1.0,
            "verdict": "match",
            "rules_fired": [],
            "divergences": [],
        },
    ]
    doc = {
        "format": "compat-diff/report",
        "version": 1,
        "generated": "2026-11-24T12:00:00Z",
        "tool": "compat-diff 0.1.0",
        "recording": {
            "path": "recordings/s3-basics.jsonl",
            "exchanges": 5,
            "header": {
                "created": "2026-11-24T10:00:00Z",
                "reference": "moto 5.0 (stand-in for AWS)",
                "client": "aws-cli/1.32 " + XSS,
            },
        },
        "rules": {
            "files": ["normalizers/common.yaml", "normalizers/s3.yaml"],
            "fired": {"common.request-id": 6, "s3.etag": 1},
        },
        "targets": [
            {
                "name": "swift",
                "endpoint": "http://127.0.0.1:8080",
                "score": 0.25,
                "exchanges": 4,
                "matching": 1,
                "verdicts": {"match": 1, "diverges": 2, "not-implemented": 1, "error": 0, "skipped": 1},
                "severities": {"critical": 2, "major": 1, "minor": 1},
                "services": [
                    {"service": "ec2", "score": 0.0, "exchanges": 2, "matching": 0, "operations": 2},
                    {"service": "s3", "score": 0.5, "exchanges": 2, "matching": 1, "operations": 3},
                ],
                "operations": swift_ops,
            },
            {
                "name": "rclone",
                "endpoint": "http://127.0.0.1:8081",
                "score": 1.0,
                "exchanges": 2,
                "matching": 2,
                "verdicts": {"match": 2, "diverges": 0, "not-implemented": 0, "error": 0, "skipped": 0},
                "severities": {"critical": 0, "major": 0, "minor": 0},
                "services": [{"service": "s3", "score": 1.0, "exchanges": 2, "matching": 2, "operations": 2}],
                "operations": rclone_ops,
            },
        ],
    }
    get_reference = {
        "ContentType": "text/plain",
        "ContentLength": 11,
        "ETag": "<etag:1>",
        "Metadata": {"owner.team": "team-a"},
        "Body": "hello world",
    }
    get_candidate = {
        "ContentType": "application/octet-stream",
        "ContentLength": 11,
        "ETag": "<etag:1>",
        "Metadata": {},
        "Body": "hello world",
    }
    ec2_reference = {
        "Reservations": [
            {
                "ReservationId": "<reservation-id:1>",
                "Instances": [
                    {
                        "InstanceId": "<instance-id:1>",
                        "InstanceType": "t3.micro",
                        "State": {"Code": 16, "Name": "running"},
                    }
                ],
            }
        ]
    }
    ec2_candidate = {
        "Reservations": [
            {
                "ReservationId": "<reservation-id:1>",
                "Instances": [
                    {
                        "InstanceId": "<instance-id:1>",
                        "InstanceType": "t3.micro",
                        "State": {"Code": 16, "Name": XSS},
                    }
                ],
            }
        ]
    }
    details = [
        {
            "target": "swift",
            "seq": 1,
            "service": "s3",
            "operation": "ListBuckets",
            "verdict": "match",
            "divergences": [],
            "rules_fired": ["common.request-id"],
            "reference": _side(
                200,
                LIST_BUCKETS_XML,
                "application/xml",
                {"Buckets": [{"Name": "reports"}]},
                "https://s3.amazonaws.com/",
            ),
            "candidate": {
                **_side(
                    200,
                    LIST_BUCKETS_XML,
                    "application/xml",
                    {"Buckets": [{"Name": "reports"}]},
                    "http://127.0.0.1:8080/",
                ),
                "error": None,
            },
        },
        {
            "target": "swift",
            "seq": 2,
            "service": "s3",
            "operation": "GetObject",
            "verdict": "diverges",
            "divergences": [content_type, missing_tag],
            "rules_fired": ["common.request-id", "s3.etag"],
            "reference": _side(
                200, "hello world", "text/plain", get_reference, "https://reports.s3.amazonaws.com/hello.txt"
            ),
            "candidate": {
                **_side(
                    200,
                    "hello world",
                    "application/octet-stream",
                    get_candidate,
                    "http://127.0.0.1:8080/reports/hello.txt",
                ),
                "error": None,
            },
        },
        {
            "target": "swift",
            "seq": 3,
            "service": "ec2",
            "operation": "DescribeInstances",
            "verdict": "diverges",
            "divergences": [xss_value],
            "rules_fired": [],
            "reference": _side(
                200,
                '{"Reservations": []}',
                "application/json",
                ec2_reference,
                "https://ec2.us-east-1.amazonaws.com/",
            ),
            "candidate": {
                **_side(200, XSS, "text/html", ec2_candidate, "http://127.0.0.1:8080/"),
                "error": None,
            },
        },
        {
            "target": "swift",
            "seq": 4,
            "service": "ec2",
            "operation": "RunInstances",
            "verdict": "not-implemented",
            "divergences": [not_impl],
            "rules_fired": [],
            "reference": _side(
                200,
                "<RunInstancesResponse/>",
                "text/xml",
                {"Instances": []},
                "https://ec2.us-east-1.amazonaws.com/",
            ),
            "candidate": {
                **_side(
                    501,
                    "<Error><Code>NotImplemented</Code></Error>",
                    "text/xml",
                    {"Error": {"Code": "NotImplemented"}},
                    "http://127.0.0.1:8080/",
                ),
                "error": None,
            },
        },
        {
            "target": "rclone",
            "seq": 1,
            "service": "s3",
            "operation": "ListBuckets",
            "verdict": "match",
            "divergences": [],
            "rules_fired": [],
            "reference": _side(
                200,
                LIST_BUCKETS_XML,
                "application/xml",
                {"Buckets": [{"Name": "reports"}]},
                "https://s3.amazonaws.com/",
            ),
            "candidate": {
                **_side(
                    200,
                    LIST_BUCKETS_XML,
                    "application/xml",
                    {"Buckets": [{"Name": "reports"}]},
                    "http://127.0.0.1:8081/",
                ),
                "error": None,
            },
        },
        {
            "target": "rclone",
            "seq": 2,
            "service": "s3",
            "operation": "GetObject",
            "verdict": "match",
            "divergences": [],
            "rules_fired": [],
            "reference": _side(
                200, "hello world", "text/plain", get_reference, "https://reports.s3.amazonaws.com/x"
            ),
            "candidate": {
                **_side(200, "hello world", "text/plain", get_reference, "http://127.0.0.1:8081/x"),
                "error": None,
            },
        },
    ]
    return doc, details


def write_details(details: list[dict[str, Any]], path: Path) -> Path:
    path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in details))
    return path
