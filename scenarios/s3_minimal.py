"""A quick S3 scenario (about twenty calls) for demos: a bucket, a few objects, a listing, a copy,
a presigned download and the common errors, then cleanup.
"""

from __future__ import annotations

from _scenario import PREFIX, Scenario, client, expect_error, expect_http_status, run

BUCKET = f"{PREFIX}-demo"


def scenario(sc: Scenario) -> None:
    s3 = client("s3")

    s3.create_bucket(Bucket=BUCKET)
    sc.on_failure(s3.delete_bucket, Bucket=BUCKET)
    s3.head_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="hello.txt", Body=b"hello, compat-diff\n", ContentType="text/plain")
    sc.on_failure(s3.delete_object, Bucket=BUCKET, Key="hello.txt")
    s3.put_object(Bucket=BUCKET, Key="data/numbers.csv", Body=b"n\n1\n2\n3\n", Metadata={"rows": "3"})
    sc.on_failure(s3.delete_object, Bucket=BUCKET, Key="data/numbers.csv")
    s3.head_object(Bucket=BUCKET, Key="hello.txt")
    s3.get_object(Bucket=BUCKET, Key="hello.txt")["Body"].read()
    s3.get_object(Bucket=BUCKET, Key="data/numbers.csv", Range="bytes=0-3")["Body"].read()
    s3.list_objects_v2(Bucket=BUCKET)
    s3.list_objects_v2(Bucket=BUCKET, Prefix="data/", Delimiter="/")
    s3.copy_object(Bucket=BUCKET, Key="hello-copy.txt", CopySource={"Bucket": BUCKET, "Key": "hello.txt"})
    sc.on_failure(s3.delete_object, Bucket=BUCKET, Key="hello-copy.txt")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "hello.txt"}, ExpiresIn=3600
    )
    expect_http_status(200, url)
    expect_error("NoSuchKey", s3.get_object, Bucket=BUCKET, Key="missing.txt")
    expect_error("404", s3.head_object, Bucket=BUCKET, Key="missing.txt")
    expect_error("NoSuchBucket", s3.list_objects_v2, Bucket=f"{PREFIX}-demo-never-created")
    expect_error("BucketNotEmpty", s3.delete_bucket, Bucket=BUCKET)
    s3.delete_object(Bucket=BUCKET, Key="hello.txt")
    s3.delete_objects(
        Bucket=BUCKET, Delete={"Objects": [{"Key": "data/numbers.csv"}, {"Key": "hello-copy.txt"}]}
    )
    s3.list_objects_v2(Bucket=BUCKET)
    s3.delete_bucket(Bucket=BUCKET)


if __name__ == "__main__":
    run("s3_minimal", scenario)
