#!/usr/bin/env bash
# Run every scenario (or the ones named) one after another against the endpoint in AWS_ENDPOINT_URL
# (or real AWS when it is unset). Exits non-zero if any scenario did not run to the end.
#
#   scenarios/run_all.sh                 # all scenarios
#   scenarios/run_all.sh s3 sqs cli_s3   # some of them
#
# PYTHON picks the interpreter with boto3 installed (default: python3); AWS_CLI the `aws` binary.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PYTHON="${PYTHON:-python3}"
ALL=(s3 s3_minimal ec2 iam sts sqs sns dynamodb kinesis cloudwatch cli_s3 cli_sqs_dynamodb)
names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then names=("${ALL[@]}"); fi

failed=()
for name in "${names[@]}"; do
    if [[ -f "$here/$name.py" ]]; then
        command=("$PYTHON" "$here/$name.py")
    elif [[ -f "$here/$name.sh" ]]; then
        command=(bash "$here/$name.sh")
    else
        echo "run_all: no scenario named $name (known: ${ALL[*]})" >&2
        exit 2
    fi
    echo "== $name"
    if ! "${command[@]}"; then failed+=("$name"); fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "run_all: ${#failed[@]} of ${#names[@]} scenarios failed: ${failed[*]}" >&2
    exit 1
fi
echo "run_all: all ${#names[@]} scenarios ran to the end"
