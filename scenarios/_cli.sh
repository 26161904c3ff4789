# Shared helpers for the AWS CLI scenarios; sourced, not run.
#
# Like the boto3 scenarios: endpoint from AWS_ENDPOINT_URL (the CLI honours it natively), region from
# AWS_DEFAULT_REGION (default us-east-1), credentials from the standard chain, retries off, and an
# expected error is checked by its code without changing what runs next.
# COMPAT_DIFF_SCENARIO_STRICT=1 turns a surprising outcome into a non-zero exit.

set -euo pipefail

export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export AWS_RETRY_MODE=standard
export AWS_MAX_ATTEMPTS=1          # total attempts, so a recording never holds a retried call
export AWS_PAGER=""
AWS="${AWS_CLI:-aws}"
# AWS CLI v1 pins SQS in us-east-1 to its legacy endpoint even when AWS_ENDPOINT_URL is set, so the
# endpoint is also passed explicitly (the same URL, so nothing changes for the other services).
ENDPOINT_ARGS=()
if [[ -n "${AWS_ENDPOINT_URL:-}" ]]; then ENDPOINT_ARGS=(--endpoint-url "$AWS_ENDPOINT_URL"); fi
PREFIX="${COMPAT_DIFF_SCENARIO_PREFIX:-compat-diff-scn}"
SCENARIO_NAME="$(basename "$0" .sh)"

# aws ARGS...: a call that must succeed; its output is not needed.
call() {
    "$AWS" "${ENDPOINT_ARGS[@]}" "$@" --output json >/dev/null
}

# query QUERY ARGS...: a call that must succeed; prints one value selected with --query.
query() {
    local selector="$1"; shift
    "$AWS" "${ENDPOINT_ARGS[@]}" "$@" --output text --query "$selector"
}

# expect_error CODE ARGS...: a call that should fail with CODE (an error is part of the scenario).
expect_error() {
    local code="$1"; shift
    local err
    if err="$("$AWS" "${ENDPOINT_ARGS[@]}" "$@" --output json 2>&1 >/dev/null)"; then
        surprise "aws $1 $2 succeeded, expected the error $code"
    elif [[ "$err" != *"($code)"* ]]; then
        surprise "aws $1 $2 failed otherwise than with $code: ${err//$'\n'/ }"
    fi
}

surprise() {
    if [[ "${COMPAT_DIFF_SCENARIO_STRICT:-}" =~ ^(1|true|yes)$ ]]; then
        echo "$SCENARIO_NAME: unexpected outcome: $1" >&2
        exit 1
    fi
    echo "scenario note: $1" >&2
}

finished() {
    echo "$SCENARIO_NAME: ran to the end"
}
