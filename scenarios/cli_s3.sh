#!/usr/bin/env bash
# S3 through the AWS CLI, as people script it: the high-level `aws s3` commands and a few `aws s3api`
# calls, with the common errors and cleanup. Single-file transfers only, so the CLI's parallel
# transfer threads cannot reorder calls between runs.
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/_cli.sh"

BUCKET="$PREFIX-cli-s3"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
printf 'hello from the AWS CLI\n' > "$work/hello.txt"
printf 'a,b\n1,2\n' > "$work/table.csv"

call s3 mb "s3://$BUCKET"
call s3api head-bucket --bucket "$BUCKET"
call s3 cp "$work/hello.txt" "s3://$BUCKET/notes/hello.txt"
call s3 cp "$work/table.csv" "s3://$BUCKET/data/table.csv" --content-type text/csv --metadata rows=2
call s3 ls "s3://$BUCKET/"
call s3 ls "s3://$BUCKET/notes/"
call s3 cp "s3://$BUCKET/notes/hello.txt" "$work/downloaded.txt"
cmp -s "$work/hello.txt" "$work/downloaded.txt" || surprise "downloaded object differs from the upload"
call s3 cp "s3://$BUCKET/notes/hello.txt" "s3://$BUCKET/notes/hello-copy.txt"
call s3 mv "s3://$BUCKET/notes/hello-copy.txt" "s3://$BUCKET/archive/hello.txt"
call s3api head-object --bucket "$BUCKET" --key data/table.csv
call s3api put-object-tagging --bucket "$BUCKET" --key data/table.csv \
    --tagging 'TagSet=[{Key=kind,Value=table}]'
call s3api get-object-tagging --bucket "$BUCKET" --key data/table.csv
call s3api list-objects-v2 --bucket "$BUCKET" --max-keys 1 --no-paginate
call s3 presign "s3://$BUCKET/notes/hello.txt" --expires-in 600
expect_error NoSuchKey s3api get-object --bucket "$BUCKET" --key notes/missing.txt "$work/missing.txt"
expect_error 404 s3api head-object --bucket "$BUCKET" --key notes/missing.txt
expect_error NoSuchBucket s3api list-objects-v2 --bucket "$PREFIX-cli-never-created"
expect_error BucketNotEmpty s3api delete-bucket --bucket "$BUCKET"

call s3 rm "s3://$BUCKET/notes/hello.txt"
call s3 rm "s3://$BUCKET/data/table.csv"
call s3 rm "s3://$BUCKET/archive/hello.txt"
call s3 rb "s3://$BUCKET"
finished
