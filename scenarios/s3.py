"""S3 scenario: buckets, objects, metadata, copies, ranges, conditions, multipart, versioning, sub-resources.

Runs the calls a typical S3 application makes, including the ones that should fail (missing keys,
a non-empty bucket delete, unmet preconditions), and removes everything it created at the end.
"""

from __future__ import annotations

import json

from _scenario import PREFIX, Scenario, client, expect_error, expect_http_status, run

BUCKET = f"{PREFIX}-s3-main"
VERSIONED = f"{PREFIX}-s3-versioned"
MISSING_BUCKET = f"{PREFIX}-s3-never-created"
PART_SIZE = 5 * 1024 * 1024  # the smallest part S3 accepts (except the last)


def scenario(sc: Scenario) -> None:
    s3 = client("s3")
    s3v4 = client("s3", signature_version="s3v4")

    s3.list_buckets()
    s3.create_bucket(Bucket=BUCKET, ObjectOwnership="ObjectWriter")
    sc.on_failure(_empty_and_delete, s3=s3, bucket=BUCKET)
    s3.head_bucket(Bucket=BUCKET)
    s3.get_bucket_location(Bucket=BUCKET)
    expect_error("404", s3.head_bucket, Bucket=MISSING_BUCKET)
    expect_error("NoSuchBucket", s3.list_objects_v2, Bucket=MISSING_BUCKET)

    # Objects and metadata.
    s3.put_object(
        Bucket=BUCKET,
        Key="docs/readme.txt",
        Body=b"hello compat-diff\n",
        ContentType="text/plain",
        Metadata={"owner": "scenario", "purpose": "metadata-check"},
        CacheControl="max-age=60",
    )
    s3.put_object(
        Bucket=BUCKET,
        Key="docs/data.json",
        Body=json.dumps({"n": 1}).encode(),
        ContentType="application/json",
    )
    s3.put_object(Bucket=BUCKET, Key="empty", Body=b"")
    s3.put_object(Bucket=BUCKET, Key="unicode/naïve file.txt", Body="données\n".encode())
    head = s3.head_object(Bucket=BUCKET, Key="docs/readme.txt")
    etag = head["ETag"]
    s3.get_object(Bucket=BUCKET, Key="docs/readme.txt")["Body"].read()
    s3.get_object(Bucket=BUCKET, Key="unicode/naïve file.txt")["Body"].read()
    s3.get_object(Bucket=BUCKET, Key="docs/readme.txt", Range="bytes=0-4")["Body"].read()
    s3.get_object(Bucket=BUCKET, Key="docs/readme.txt", Range="bytes=-6")["Body"].read()
    s3.get_object(Bucket=BUCKET, Key="docs/readme.txt", ResponseContentType="application/octet-stream")[
        "Body"
    ].read()
    expect_error("InvalidRange", s3.get_object, Bucket=BUCKET, Key="docs/readme.txt", Range="bytes=1000-2000")
    expect_error("NoSuchKey", s3.get_object, Bucket=BUCKET, Key="docs/missing.txt")
    expect_error("404", s3.head_object, Bucket=BUCKET, Key="docs/missing.txt")

    # Conditional GET and PUT.
    s3.get_object(Bucket=BUCKET, Key="docs/readme.txt", IfMatch=etag)["Body"].read()
    expect_error("304", s3.get_object, Bucket=BUCKET, Key="docs/readme.txt", IfNoneMatch=etag)
    expect_error("PreconditionFailed", s3.get_object, Bucket=BUCKET, Key="docs/readme.txt", IfMatch='"0000"')
    s3.put_object(Bucket=BUCKET, Key="docs/created-once.txt", Body=b"first", IfNoneMatch="*")
    expect_error(
        "PreconditionFailed",
        s3.put_object,
        Bucket=BUCKET,
        Key="docs/created-once.txt",
        Body=b"x",
        IfNoneMatch="*",
    )
    s3.put_object(Bucket=BUCKET, Key="docs/readme.txt", Body=b"hello compat-diff\n", IfMatch=etag)
    expect_error(
        "PreconditionFailed", s3.put_object, Bucket=BUCKET, Key="docs/readme.txt", Body=b"x", IfMatch='"0000"'
    )

    # Copies, one keeping and one replacing the metadata.
    s3.copy_object(
        Bucket=BUCKET, Key="copies/readme.txt", CopySource={"Bucket": BUCKET, "Key": "docs/readme.txt"}
    )
    s3.copy_object(
        Bucket=BUCKET,
        Key="copies/readme-relabelled.txt",
        CopySource={"Bucket": BUCKET, "Key": "docs/readme.txt"},
        MetadataDirective="REPLACE",
        ContentType="text/markdown",
        Metadata={"owner": "copier"},
    )
    s3.head_object(Bucket=BUCKET, Key="copies/readme-relabelled.txt")
    expect_error(
        "NoSuchKey",
        s3.copy_object,
        Bucket=BUCKET,
        Key="copies/x",
        CopySource={"Bucket": BUCKET, "Key": "nope"},
    )

    # Listing, page by page, both API versions.
    page = s3.list_objects_v2(Bucket=BUCKET, MaxKeys=1)
    for _ in range(2):
        page = s3.list_objects_v2(Bucket=BUCKET, MaxKeys=1, ContinuationToken=page["NextContinuationToken"])
    s3.list_objects_v2(Bucket=BUCKET, Prefix="docs/", Delimiter="/")
    s3.list_objects_v2(Bucket=BUCKET, Delimiter="/")
    s3.list_objects_v2(Bucket=BUCKET, StartAfter="docs/readme.txt")
    s3.list_objects(Bucket=BUCKET, MaxKeys=2)
    s3.list_objects(Bucket=BUCKET, MaxKeys=2, Marker="docs/")

    # Presigned URLs fetched by a plain HTTP client: boto3's default (SigV2 query) and SigV4.
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "docs/readme.txt"}, ExpiresIn=3600
    )
    expect_http_status(200, url)
    url = s3v4.generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "docs/readme.txt"}, ExpiresIn=3600
    )
    expect_http_status(200, url)
    url = s3v4.generate_presigned_url(
        "put_object", Params={"Bucket": BUCKET, "Key": "uploads/presigned.txt"}, ExpiresIn=3600
    )
    expect_http_status(200, url, method="PUT", data=b"uploaded through a presigned URL\n")
    url = s3v4.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "docs/missing.txt"})
    expect_http_status(404, url)

    # Object tagging and ACLs.
    s3.put_object_tagging(
        Bucket=BUCKET, Key="docs/readme.txt", Tagging={"TagSet": [{"Key": "team", "Value": "compat"}]}
    )
    s3.get_object_tagging(Bucket=BUCKET, Key="docs/readme.txt")
    s3.delete_object_tagging(Bucket=BUCKET, Key="docs/readme.txt")
    s3.get_object_tagging(Bucket=BUCKET, Key="docs/readme.txt")
    s3.put_object_acl(Bucket=BUCKET, Key="docs/readme.txt", ACL="private")
    s3.get_object_acl(Bucket=BUCKET, Key="docs/readme.txt")
    s3.put_bucket_acl(Bucket=BUCKET, ACL="private")
    s3.get_bucket_acl(Bucket=BUCKET)

    # Bucket sub-resources: first absent (an error), then set, read and removed.
    expect_error("NoSuchTagSet", s3.get_bucket_tagging, Bucket=BUCKET)
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "project", "Value": "compat-diff"}]})
    s3.get_bucket_tagging(Bucket=BUCKET)
    s3.delete_bucket_tagging(Bucket=BUCKET)

    expect_error("NoSuchCORSConfiguration", s3.get_bucket_cors, Bucket=BUCKET)
    s3.put_bucket_cors(
        Bucket=BUCKET,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedMethods": ["GET", "PUT"],
                    "AllowedOrigins": ["https://example.com"],
                    "AllowedHeaders": ["*"],
                    "MaxAgeSeconds": 300,
                }
            ]
        },
    )
    s3.get_bucket_cors(Bucket=BUCKET)
    s3.delete_bucket_cors(Bucket=BUCKET)

    expect_error("NoSuchBucketPolicy", s3.get_bucket_policy, Bucket=BUCKET)
    account = client("sts").get_caller_identity()["Account"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OwnerReads",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))
    s3.get_bucket_policy(Bucket=BUCKET)
    s3.delete_bucket_policy(Bucket=BUCKET)

    expect_error("NoSuchLifecycleConfiguration", s3.get_bucket_lifecycle_configuration, Bucket=BUCKET)
    s3.put_bucket_lifecycle_configuration(
        Bucket=BUCKET,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "expire-tmp",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "tmp/"},
                    "Expiration": {"Days": 7},
                }
            ]
        },
    )
    s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)
    s3.delete_bucket_lifecycle(Bucket=BUCKET)

    s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.get_bucket_encryption(Bucket=BUCKET)
    s3.get_bucket_ownership_controls(Bucket=BUCKET)

    # Multipart upload: two parts (one copied from an object), listed, completed; one upload aborted.
    upload = s3.create_multipart_upload(
        Bucket=BUCKET, Key="big/assembled.bin", ContentType="application/octet-stream"
    )
    upload_id = upload["UploadId"]
    sc.on_failure(s3.abort_multipart_upload, Bucket=BUCKET, Key="big/assembled.bin", UploadId=upload_id)
    part1 = s3.upload_part(
        Bucket=BUCKET, Key="big/assembled.bin", UploadId=upload_id, PartNumber=1, Body=b"a" * PART_SIZE
    )
    part2 = s3.upload_part_copy(
        Bucket=BUCKET,
        Key="big/assembled.bin",
        UploadId=upload_id,
        PartNumber=2,
        CopySource={"Bucket": BUCKET, "Key": "docs/readme.txt"},
    )
    s3.list_parts(Bucket=BUCKET, Key="big/assembled.bin", UploadId=upload_id)
    s3.list_multipart_uploads(Bucket=BUCKET)
    s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key="big/assembled.bin",
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [
                {"PartNumber": 1, "ETag": part1["ETag"]},
                {"PartNumber": 2, "ETag": part2["CopyPartResult"]["ETag"]},
            ]
        },
    )
    s3.head_object(Bucket=BUCKET, Key="big/assembled.bin")
    s3.get_object(Bucket=BUCKET, Key="big/assembled.bin", Range="bytes=5242870-5242889")["Body"].read()
    aborted = s3.create_multipart_upload(Bucket=BUCKET, Key="big/aborted.bin")
    s3.upload_part(
        Bucket=BUCKET, Key="big/aborted.bin", UploadId=aborted["UploadId"], PartNumber=1, Body=b"b" * 1024
    )
    s3.abort_multipart_upload(Bucket=BUCKET, Key="big/aborted.bin", UploadId=aborted["UploadId"])
    expect_error(
        "NoSuchUpload", s3.list_parts, Bucket=BUCKET, Key="big/aborted.bin", UploadId=aborted["UploadId"]
    )

    # Versioning: two versions and a delete marker, read back by version id.
    s3.create_bucket(Bucket=VERSIONED)
    sc.on_failure(_empty_and_delete, s3=s3, bucket=VERSIONED)
    s3.get_bucket_versioning(Bucket=VERSIONED)
    s3.put_bucket_versioning(Bucket=VERSIONED, VersioningConfiguration={"Status": "Enabled"})
    s3.get_bucket_versioning(Bucket=VERSIONED)
    first = s3.put_object(Bucket=VERSIONED, Key="config.ini", Body=b"version=1\n")
    second = s3.put_object(Bucket=VERSIONED, Key="config.ini", Body=b"version=2\n")
    s3.get_object(Bucket=VERSIONED, Key="config.ini", VersionId=first["VersionId"])["Body"].read()
    s3.head_object(Bucket=VERSIONED, Key="config.ini", VersionId=second["VersionId"])
    marker = s3.delete_object(Bucket=VERSIONED, Key="config.ini")
    expect_error("NoSuchKey", s3.get_object, Bucket=VERSIONED, Key="config.ini")
    s3.list_object_versions(Bucket=VERSIONED)
    s3.list_object_versions(Bucket=VERSIONED, Prefix="config", MaxKeys=1)
    s3.delete_objects(
        Bucket=VERSIONED,
        Delete={
            "Objects": [
                {"Key": "config.ini", "VersionId": first["VersionId"]},
                {"Key": "config.ini", "VersionId": second["VersionId"]},
                {"Key": "config.ini", "VersionId": marker["VersionId"]},
            ]
        },
    )
    s3.list_object_versions(Bucket=VERSIONED)
    s3.delete_bucket(Bucket=VERSIONED)

    # Cleanup, starting with the delete that must fail while objects remain.
    expect_error("BucketNotEmpty", s3.delete_bucket, Bucket=BUCKET)
    s3.delete_objects(
        Bucket=BUCKET,
        Delete={
            "Objects": [
                {"Key": key}
                for key in (
                    "docs/readme.txt",
                    "docs/data.json",
                    "docs/created-once.txt",
                    "empty",
                    "unicode/naïve file.txt",
                    "copies/readme.txt",
                    "copies/readme-relabelled.txt",
                    "uploads/presigned.txt",
                )
            ]
        },
    )
    s3.delete_object(Bucket=BUCKET, Key="big/assembled.bin")
    s3.delete_object(Bucket=BUCKET, Key="docs/already-gone.txt")  # deleting a missing key succeeds in S3
    s3.list_objects_v2(Bucket=BUCKET)
    s3.delete_bucket(Bucket=BUCKET)
    expect_error("NoSuchBucket", s3.delete_bucket, Bucket=BUCKET)
    s3.list_buckets()


def _empty_and_delete(s3: object, bucket: str) -> None:
    versions = s3.list_object_versions(Bucket=bucket)  # type: ignore[attr-defined]
    doomed = [
        {"Key": item["Key"], "VersionId": item["VersionId"]}
        for item in versions.get("Versions", []) + versions.get("DeleteMarkers", [])
    ]
    if doomed:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed})  # type: ignore[attr-defined]
    s3.delete_bucket(Bucket=bucket)  # type: ignore[attr-defined]


if __name__ == "__main__":
    run("s3", scenario)
