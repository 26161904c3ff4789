"""SQS scenario: standard and FIFO queues, attributes, single and batch sends, receives, visibility
changes, deletes by receipt handle, a dead-letter queue, tags, purge and the usual errors.

Messages are received one at a time with long polling so the call sequence is the same against AWS,
which may return fewer messages than asked for on a short poll.
"""

from __future__ import annotations

import json

from _scenario import PREFIX, Scenario, client, expect_error, run

QUEUE = f"{PREFIX}-orders"
DEAD_LETTERS = f"{PREFIX}-orders-dlq"
FIFO = f"{PREFIX}-ledger.fifo"


def scenario(sc: Scenario) -> None:
    sqs = client("sqs")

    dlq_url = sqs.create_queue(QueueName=DEAD_LETTERS)["QueueUrl"]
    sc.on_failure(sqs.delete_queue, QueueUrl=dlq_url)
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName=QUEUE,
        Attributes={"VisibilityTimeout": "30", "MessageRetentionPeriod": "3600"},
        tags={"project": "compat-diff"},
    )["QueueUrl"]
    sc.on_failure(sqs.delete_queue, QueueUrl=queue_url)
    sqs.get_queue_url(QueueName=QUEUE)
    expect_error(
        ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"),
        sqs.get_queue_url,
        QueueName=f"{PREFIX}-never-created",
    )
    sqs.list_queues(QueueNamePrefix=PREFIX)
    sqs.set_queue_attributes(
        QueueUrl=queue_url,
        Attributes={
            "DelaySeconds": "0",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
        },
    )
    sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["VisibilityTimeout", "MessageRetentionPeriod", "RedrivePolicy"]
    )
    sqs.list_dead_letter_source_queues(QueueUrl=dlq_url)

    # Tags.
    sqs.tag_queue(QueueUrl=queue_url, Tags={"stage": "testing"})
    sqs.list_queue_tags(QueueUrl=queue_url)
    sqs.untag_queue(QueueUrl=queue_url, TagKeys=["stage"])

    # Sending.
    sqs.send_message(
        QueueUrl=queue_url,
        MessageBody=json.dumps({"order": 1}),
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}},
    )
    sqs.send_message_batch(
        QueueUrl=queue_url,
        Entries=[{"Id": f"m{n}", "MessageBody": json.dumps({"order": n})} for n in (2, 3, 4)],
    )
    expect_error(
        ("AWS.SimpleQueueService.EmptyBatchRequest", "EmptyBatchRequest"),
        sqs.send_message_batch,
        QueueUrl=queue_url,
        Entries=[],
    )

    # Receiving, changing visibility, deleting by receipt handle.
    first = _receive_one(sqs, queue_url)
    sqs.change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=60
    )
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=first["ReceiptHandle"])
    second = _receive_one(sqs, queue_url)
    third = _receive_one(sqs, queue_url)
    sqs.change_message_visibility_batch(
        QueueUrl=queue_url,
        Entries=[
            {"Id": "second", "ReceiptHandle": second["ReceiptHandle"], "VisibilityTimeout": 45},
            {"Id": "third", "ReceiptHandle": third["ReceiptHandle"], "VisibilityTimeout": 45},
        ],
    )
    sqs.delete_message_batch(
        QueueUrl=queue_url,
        Entries=[
            {"Id": "second", "ReceiptHandle": second["ReceiptHandle"]},
            {"Id": "third", "ReceiptHandle": third["ReceiptHandle"]},
        ],
    )
    expect_error(
        "ReceiptHandleIsInvalid", sqs.delete_message, QueueUrl=queue_url, ReceiptHandle="not-a-handle"
    )
    sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    sqs.purge_queue(QueueUrl=queue_url)

    # FIFO queue.
    fifo_url = sqs.create_queue(
        QueueName=FIFO, Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    sc.on_failure(sqs.delete_queue, QueueUrl=fifo_url)
    sqs.send_message(QueueUrl=fifo_url, MessageBody="entry-1", MessageGroupId="ledger")
    sqs.send_message(QueueUrl=fifo_url, MessageBody="entry-2", MessageGroupId="ledger")
    expect_error("MissingParameter", sqs.send_message, QueueUrl=fifo_url, MessageBody="no group")
    entry = _receive_one(sqs, fifo_url)
    sqs.delete_message(QueueUrl=fifo_url, ReceiptHandle=entry["ReceiptHandle"])

    # Cleanup.
    sqs.delete_queue(QueueUrl=fifo_url)
    sqs.delete_queue(QueueUrl=queue_url)
    sqs.delete_queue(QueueUrl=dlq_url)


def _receive_one(sqs: object, queue_url: str) -> dict:
    messages = sqs.receive_message(  # type: ignore[attr-defined]
        QueueUrl=queue_url,
        MaxNumberOfMessages=1,
        WaitTimeSeconds=5,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["SentTimestamp"],
    )["Messages"]
    return messages[0]


if __name__ == "__main__":
    run("sqs", scenario)
