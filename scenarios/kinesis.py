"""Kinesis scenario: a one-shard stream, single and batch puts, reading back through a shard iterator,
retention and tags, and the usual errors.

Against real AWS the stream costs one shard-hour (a few cents) while it exists.
"""

from __future__ import annotations

from _scenario import PREFIX, Scenario, client, expect_error, run

STREAM = f"{PREFIX}-clicks"


def scenario(sc: Scenario) -> None:
    kinesis = client("kinesis")

    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    sc.on_failure(kinesis.delete_stream, StreamName=STREAM, EnforceConsumerDeletion=True)
    kinesis.get_waiter("stream_exists").wait(StreamName=STREAM, WaiterConfig={"Delay": 5})
    expect_error("ResourceInUseException", kinesis.create_stream, StreamName=STREAM, ShardCount=1)
    kinesis.describe_stream(StreamName=STREAM)
    kinesis.describe_stream_summary(StreamName=STREAM)
    kinesis.list_streams()
    shard_id = kinesis.list_shards(StreamName=STREAM)["Shards"][0]["ShardId"]
    expect_error("ResourceNotFoundException", kinesis.describe_stream, StreamName=f"{PREFIX}-never-created")

    first = kinesis.put_record(StreamName=STREAM, Data=b'{"click": 1}', PartitionKey="user-1")
    kinesis.put_records(
        StreamName=STREAM,
        Records=[{"Data": f'{{"click": {n}}}'.encode(), "PartitionKey": f"user-{n}"} for n in (2, 3, 4)],
    )
    iterator = kinesis.get_shard_iterator(
        StreamName=STREAM,
        ShardId=shard_id,
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=first["SequenceNumber"],
    )["ShardIterator"]
    kinesis.get_records(ShardIterator=iterator, Limit=10)
    kinesis.get_shard_iterator(StreamName=STREAM, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")
    expect_error(
        ("ResourceNotFoundException", "InvalidArgumentException"),
        kinesis.get_shard_iterator,
        StreamName=STREAM,
        ShardId="shardId-000000000099",
        ShardIteratorType="TRIM_HORIZON",
    )

    kinesis.increase_stream_retention_period(StreamName=STREAM, RetentionPeriodHours=48)
    kinesis.decrease_stream_retention_period(StreamName=STREAM, RetentionPeriodHours=24)
    kinesis.add_tags_to_stream(StreamName=STREAM, Tags={"project": "compat-diff", "stage": "testing"})
    kinesis.list_tags_for_stream(StreamName=STREAM)
    kinesis.remove_tags_from_stream(StreamName=STREAM, TagKeys=["stage"])

    kinesis.delete_stream(StreamName=STREAM)
    kinesis.get_waiter("stream_not_exists").wait(StreamName=STREAM, WaiterConfig={"Delay": 5})


if __name__ == "__main__":
    run("kinesis", scenario)
