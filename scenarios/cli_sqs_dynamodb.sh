#!/usr/bin/env bash
# SQS and DynamoDB through the AWS CLI: a queue used end to end and a small table, with errors and cleanup.
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/_cli.sh"

QUEUE="$PREFIX-cli-jobs"
TABLE="$PREFIX-cli-settings"

queue_url="$(query QueueUrl sqs create-queue --queue-name "$QUEUE" --attributes VisibilityTimeout=20)"
call sqs get-queue-url --queue-name "$QUEUE"
call sqs get-queue-attributes --queue-url "$queue_url" --attribute-names All
call sqs send-message --queue-url "$queue_url" --message-body '{"job": 1}'
receipt="$(query 'Messages[0].ReceiptHandle' sqs receive-message --queue-url "$queue_url" --wait-time-seconds 5)"
call sqs delete-message --queue-url "$queue_url" --receipt-handle "$receipt"
expect_error AWS.SimpleQueueService.NonExistentQueue sqs get-queue-url --queue-name "$PREFIX-cli-never-created"
call sqs delete-queue --queue-url "$queue_url"

call dynamodb create-table --table-name "$TABLE" \
    --attribute-definitions AttributeName=name,AttributeType=S \
    --key-schema AttributeName=name,KeyType=HASH --billing-mode PAY_PER_REQUEST
call dynamodb wait table-exists --table-name "$TABLE"
call dynamodb put-item --table-name "$TABLE" --item '{"name": {"S": "theme"}, "value": {"S": "dark"}}'
call dynamodb get-item --table-name "$TABLE" --key '{"name": {"S": "theme"}}'
call dynamodb update-item --table-name "$TABLE" --key '{"name": {"S": "theme"}}' \
    --update-expression 'SET #v = :v' --expression-attribute-names '{"#v": "value"}' \
    --expression-attribute-values '{":v": {"S": "light"}}'
call dynamodb scan --table-name "$TABLE"
expect_error ConditionalCheckFailedException dynamodb put-item --table-name "$TABLE" \
    --item '{"name": {"S": "theme"}}' --condition-expression 'attribute_not_exists(#n)' \
    --expression-attribute-names '{"#n": "name"}'
expect_error ResourceNotFoundException dynamodb describe-table --table-name "$PREFIX-cli-never-created"
call dynamodb delete-table --table-name "$TABLE"
finished
