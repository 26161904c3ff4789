"""DynamoDB scenario: an on-demand table with a secondary index, item CRUD with conditions and updates,
queries, paginated scans, batch and transactional reads and writes, TTL, tags, and the usual errors.
"""

from __future__ import annotations

from _scenario import PREFIX, Scenario, client, expect_error, run

TABLE = f"{PREFIX}-orders"
MISSING_TABLE = f"{PREFIX}-never-created"


def _order(customer: str, order_id: str, status: str, total: int) -> dict:
    return {
        "customer": {"S": customer},
        "order_id": {"S": order_id},
        "status": {"S": status},
        "total": {"N": str(total)},
        "lines": {"L": [{"M": {"sku": {"S": "widget"}, "qty": {"N": "2"}}}]},
        "labels": {"SS": ["compat", "diff"]},
    }


def scenario(sc: Scenario) -> None:
    ddb = client("dynamodb")

    ddb.create_table(
        TableName=TABLE,
        AttributeDefinitions=[
            {"AttributeName": "customer", "AttributeType": "S"},
            {"AttributeName": "order_id", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "customer", "KeyType": "HASH"},
            {"AttributeName": "order_id", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-status",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "project", "Value": "compat-diff"}],
    )
    sc.on_failure(ddb.delete_table, TableName=TABLE)
    ddb.get_waiter("table_exists").wait(TableName=TABLE, WaiterConfig={"Delay": 5})
    table_arn = ddb.describe_table(TableName=TABLE)["Table"]["TableArn"]
    ddb.list_tables(Limit=100)
    expect_error("ResourceInUseException", ddb.create_table, **_minimal_table(TABLE))
    expect_error("ResourceNotFoundException", ddb.describe_table, TableName=MISSING_TABLE)

    # Items: put with and without conditions, get, update, delete.
    ddb.put_item(TableName=TABLE, Item=_order("alice", "0001", "open", 30))
    ddb.put_item(
        TableName=TABLE,
        Item=_order("alice", "0002", "open", 12),
        ConditionExpression="attribute_not_exists(order_id)",
    )
    expect_error(
        "ConditionalCheckFailedException",
        ddb.put_item,
        TableName=TABLE,
        Item=_order("alice", "0002", "open", 99),
        ConditionExpression="attribute_not_exists(order_id)",
    )
    ddb.get_item(
        TableName=TABLE, Key={"customer": {"S": "alice"}, "order_id": {"S": "0001"}}, ConsistentRead=True
    )
    ddb.get_item(
        TableName=TABLE,
        Key={"customer": {"S": "alice"}, "order_id": {"S": "0001"}},
        ProjectionExpression="#t, #s",
        ExpressionAttributeNames={"#t": "total", "#s": "status"},
    )
    ddb.get_item(TableName=TABLE, Key={"customer": {"S": "nobody"}, "order_id": {"S": "0000"}})
    ddb.update_item(
        TableName=TABLE,
        Key={"customer": {"S": "alice"}, "order_id": {"S": "0001"}},
        UpdateExpression="SET #s = :shipped, #t = #t + :extra ADD visits :one",
        ExpressionAttributeNames={"#s": "status", "#t": "total"},
        ExpressionAttributeValues={":shipped": {"S": "shipped"}, ":extra": {"N": "5"}, ":one": {"N": "1"}},
        ReturnValues="ALL_NEW",
    )
    expect_error(
        "ValidationException",
        ddb.get_item,
        TableName=TABLE,
        Key={"customer": {"S": "alice"}},
    )
    expect_error(
        "ResourceNotFoundException",
        ddb.get_item,
        TableName=MISSING_TABLE,
        Key={"customer": {"S": "alice"}, "order_id": {"S": "0001"}},
    )

    # Batch writes and reads.
    ddb.batch_write_item(
        RequestItems={
            TABLE: [
                {"PutRequest": {"Item": _order("bob", f"000{n}", "open" if n % 2 else "shipped", 10 * n)}}
                for n in range(1, 6)
            ]
        }
    )
    ddb.batch_get_item(
        RequestItems={
            TABLE: {
                "Keys": [
                    {"customer": {"S": "bob"}, "order_id": {"S": "0001"}},
                    {"customer": {"S": "bob"}, "order_id": {"S": "0002"}},
                ],
                "ConsistentRead": True,
            }
        }
    )

    # Queries and a scan paged two items at a time.
    ddb.query(
        TableName=TABLE,
        KeyConditionExpression="customer = :c AND begins_with(order_id, :p)",
        ExpressionAttributeValues={":c": {"S": "bob"}, ":p": {"S": "000"}},
        ScanIndexForward=False,
    )
    ddb.query(
        TableName=TABLE,
        KeyConditionExpression="customer = :c",
        FilterExpression="#t > :min",
        ExpressionAttributeNames={"#t": "total"},
        ExpressionAttributeValues={":c": {"S": "bob"}, ":min": {"N": "20"}},
        Select="COUNT",
    )
    page = ddb.query(
        TableName=TABLE,
        KeyConditionExpression="customer = :c",
        ExpressionAttributeValues={":c": {"S": "bob"}},
        Limit=2,
    )
    ddb.query(
        TableName=TABLE,
        KeyConditionExpression="customer = :c",
        ExpressionAttributeValues={":c": {"S": "bob"}},
        Limit=2,
        ExclusiveStartKey=page["LastEvaluatedKey"],
    )
    ddb.scan(TableName=TABLE, Select="COUNT")
    ddb.scan(
        TableName=TABLE, FilterExpression="customer = :c", ExpressionAttributeValues={":c": {"S": "alice"}}
    )

    # Transactions: one that commits, one cancelled by its condition.
    ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": _order("carol", "0001", "open", 7)}},
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"customer": {"S": "bob"}, "order_id": {"S": "0001"}},
                    "UpdateExpression": "SET #s = :s",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":s": {"S": "cancelled"}},
                }
            },
        ]
    )
    expect_error(
        "TransactionCanceledException",
        ddb.transact_write_items,
        TransactItems=[
            {
                "ConditionCheck": {
                    "TableName": TABLE,
                    "Key": {"customer": {"S": "carol"}, "order_id": {"S": "0001"}},
                    "ConditionExpression": "attribute_not_exists(order_id)",
                }
            },
            {"Delete": {"TableName": TABLE, "Key": {"customer": {"S": "bob"}, "order_id": {"S": "0002"}}}},
        ],
    )
    ddb.transact_get_items(
        TransactItems=[
            {"Get": {"TableName": TABLE, "Key": {"customer": {"S": "carol"}, "order_id": {"S": "0001"}}}},
            {"Get": {"TableName": TABLE, "Key": {"customer": {"S": "bob"}, "order_id": {"S": "0001"}}}},
        ]
    )

    # Deletes, conditional and returning the old item.
    ddb.delete_item(
        TableName=TABLE, Key={"customer": {"S": "alice"}, "order_id": {"S": "0002"}}, ReturnValues="ALL_OLD"
    )
    expect_error(
        "ConditionalCheckFailedException",
        ddb.delete_item,
        TableName=TABLE,
        Key={"customer": {"S": "alice"}, "order_id": {"S": "0001"}},
        ConditionExpression="#s = :open",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":open": {"S": "open"}},
    )

    # Table settings: TTL, tags, backups.
    ddb.update_time_to_live(
        TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"}
    )
    ddb.describe_time_to_live(TableName=TABLE)
    ddb.tag_resource(ResourceArn=table_arn, Tags=[{"Key": "stage", "Value": "testing"}])
    ddb.list_tags_of_resource(ResourceArn=table_arn)
    ddb.untag_resource(ResourceArn=table_arn, TagKeys=["stage"])
    ddb.describe_continuous_backups(TableName=TABLE)

    # Cleanup.
    ddb.delete_table(TableName=TABLE)
    ddb.get_waiter("table_not_exists").wait(TableName=TABLE, WaiterConfig={"Delay": 5})
    expect_error("ResourceNotFoundException", ddb.delete_table, TableName=TABLE)


def _minimal_table(name: str) -> dict:
    return {
        "TableName": name,
        "AttributeDefinitions": [{"AttributeName": "customer", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    }


if __name__ == "__main__":
    run("dynamodb", scenario)
