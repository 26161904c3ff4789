"""CloudWatch scenario: custom metrics with explicit timestamps, statistics and metric data queries,
an alarm through its states, tags, and the usual errors.

Every data point carries its own timestamp (the current minute) and every query asks for a window
around it, so replaying the recording later asks the same question of the same data.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from _scenario import PREFIX, Scenario, client, expect_error, run

NAMESPACE = "CompatDiff/Scenario"
ALARM = f"{PREFIX}-latency-high"


def scenario(sc: Scenario) -> None:
    cloudwatch = client("cloudwatch")
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    dimensions = [{"Name": "Service", "Value": "checkout"}]

    cloudwatch.put_metric_data(
        Namespace=NAMESPACE,
        MetricData=[
            {
                "MetricName": "Latency",
                "Dimensions": dimensions,
                "Timestamp": minute,
                "Value": v,
                "Unit": "Milliseconds",
            }
            for v in (120.0, 80.0, 100.0)
        ]
        + [
            {
                "MetricName": "Requests",
                "Dimensions": dimensions,
                "Timestamp": minute,
                "Value": 3.0,
                "Unit": "Count",
            }
        ],
    )
    cloudwatch.list_metrics(Namespace=NAMESPACE)
    cloudwatch.get_metric_statistics(
        Namespace=NAMESPACE,
        MetricName="Latency",
        Dimensions=dimensions,
        StartTime=minute - timedelta(minutes=5),
        EndTime=minute + timedelta(minutes=5),
        Period=60,
        Statistics=["Average", "Maximum", "Minimum", "SampleCount", "Sum"],
    )
    cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "requests",
                "MetricStat": {
                    "Metric": {"Namespace": NAMESPACE, "MetricName": "Requests", "Dimensions": dimensions},
                    "Period": 60,
                    "Stat": "Sum",
                },
            }
        ],
        StartTime=minute - timedelta(minutes=5),
        EndTime=minute + timedelta(minutes=5),
    )

    cloudwatch.put_metric_alarm(
        AlarmName=ALARM,
        Namespace=NAMESPACE,
        MetricName="Latency",
        Dimensions=dimensions,
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=500.0,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
        Tags=[{"Key": "project", "Value": "compat-diff"}],
    )
    sc.on_failure(cloudwatch.delete_alarms, AlarmNames=[ALARM])
    alarm_arn = cloudwatch.describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]["AlarmArn"]
    cloudwatch.describe_alarms_for_metric(Namespace=NAMESPACE, MetricName="Latency", Dimensions=dimensions)
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="compat-diff scenario test")
    cloudwatch.describe_alarms(AlarmNames=[ALARM], StateValue="ALARM")
    cloudwatch.disable_alarm_actions(AlarmNames=[ALARM])
    cloudwatch.enable_alarm_actions(AlarmNames=[ALARM])
    expect_error(
        "ResourceNotFound",
        cloudwatch.set_alarm_state,
        AlarmName=f"{PREFIX}-never-created",
        StateValue="OK",
        StateReason="missing",
    )
    cloudwatch.tag_resource(ResourceARN=alarm_arn, Tags=[{"Key": "stage", "Value": "testing"}])
    cloudwatch.list_tags_for_resource(ResourceARN=alarm_arn)
    cloudwatch.untag_resource(ResourceARN=alarm_arn, TagKeys=["stage"])

    cloudwatch.delete_alarms(AlarmNames=[ALARM])
    cloudwatch.describe_alarms(AlarmNamePrefix=PREFIX)


if __name__ == "__main__":
    run("cloudwatch", scenario)
