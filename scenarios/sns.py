"""SNS scenario: topics, attributes, an SQS subscription with raw delivery, publishing (single and
batch), tags, and the usual errors. Nothing here sends e-mail or SMS.
"""

from __future__ import annotations

import json

from _scenario import PREFIX, Scenario, client, expect_error, run

TOPIC = f"{PREFIX}-events"
QUEUE = f"{PREFIX}-events-inbox"


def scenario(sc: Scenario) -> None:
    sns = client("sns")
    sqs = client("sqs")

    topic_arn = sns.create_topic(Name=TOPIC, Tags=[{"Key": "project", "Value": "compat-diff"}])["TopicArn"]
    sc.on_failure(sns.delete_topic, TopicArn=topic_arn)
    sns.create_topic(Name=TOPIC)  # creating an existing topic is idempotent
    sns.list_topics()
    sns.get_topic_attributes(TopicArn=topic_arn)
    sns.set_topic_attributes(
        TopicArn=topic_arn, AttributeName="DisplayName", AttributeValue="compat-diff events"
    )
    missing_arn = topic_arn.replace(TOPIC, f"{PREFIX}-never-created")
    expect_error("NotFound", sns.get_topic_attributes, TopicArn=missing_arn)

    # An SQS queue that may receive from the topic.
    queue_url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    sc.on_failure(sqs.delete_queue, QueueUrl=queue_url)
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    allow_topic = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(allow_topic)})

    subscription_arn = sns.subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True
    )["SubscriptionArn"]
    sc.on_failure(sns.unsubscribe, SubscriptionArn=subscription_arn)
    sns.set_subscription_attributes(
        SubscriptionArn=subscription_arn, AttributeName="RawMessageDelivery", AttributeValue="true"
    )
    sns.get_subscription_attributes(SubscriptionArn=subscription_arn)
    sns.list_subscriptions_by_topic(TopicArn=topic_arn)
    sns.list_subscriptions()
    expect_error(
        "InvalidParameter",
        sns.subscribe,
        moto_accepts=True,
        TopicArn=topic_arn,
        Protocol="carrier-pigeon",
        Endpoint="coop",
    )

    # Publishing.
    sns.publish(
        TopicArn=topic_arn,
        Message=json.dumps({"event": "created"}),
        Subject="compat-diff",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "created"}},
    )
    sns.publish_batch(
        TopicArn=topic_arn,
        PublishBatchRequestEntries=[
            {"Id": "one", "Message": json.dumps({"event": "updated"})},
            {"Id": "two", "Message": json.dumps({"event": "deleted"})},
        ],
    )
    expect_error("NotFound", sns.publish, TopicArn=missing_arn, Message="nobody listens")

    # Tags.
    sns.tag_resource(ResourceArn=topic_arn, Tags=[{"Key": "stage", "Value": "testing"}])
    sns.list_tags_for_resource(ResourceArn=topic_arn)
    sns.untag_resource(ResourceArn=topic_arn, TagKeys=["stage"])

    # Cleanup.
    sns.unsubscribe(SubscriptionArn=subscription_arn)
    sns.delete_topic(TopicArn=topic_arn)
    sqs.delete_queue(QueueUrl=queue_url)


if __name__ == "__main__":
    run("sns", scenario)
