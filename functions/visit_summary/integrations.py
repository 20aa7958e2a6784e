"""The weekly summary's AWS calls: stranger counts from CloudWatch, the email through SNS."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class CloudWatchStrangerCounts:
    """Sums the match function's StrangerSightings metric (one series per camera) into store-time days."""

    def __init__(self, cloudwatch, stack: str, cameras: list[str], time_zone: ZoneInfo):
        self._cloudwatch, self._stack, self._cameras, self._time_zone = cloudwatch, stack, cameras, time_zone

    def __call__(self, first: date, last: date) -> dict[date, int]:
        start = datetime.combine(first, time.min, tzinfo=self._time_zone).astimezone(UTC)
        end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=self._time_zone).astimezone(UTC)
        queries = [
            {
                "Id": f"c{i}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "Greeter",
                        "MetricName": "StrangerSightings",
                        "Dimensions": [
                            {"Name": "camera", "Value": camera},
                            {"Name": "service", "Value": "greeter"},
                            {"Name": "stack", "Value": self._stack},
                        ],
                    },
                    "Period": 3600,  # hours, summed into store-time days below (a UTC day is not the store's)
                    "Stat": "Sum",
                },
            }
            for i, camera in enumerate(self._cameras)
        ]
        totals: dict[date, int] = defaultdict(int)
        token = None
        while True:
            kwargs = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
            if token:
                kwargs["NextToken"] = token
            answer = self._cloudwatch.get_metric_data(**kwargs)
            for result in answer["MetricDataResults"]:
                for stamp, value in zip(result["Timestamps"], result["Values"], strict=True):
                    totals[stamp.astimezone(self._time_zone).date()] += int(value)
            token = answer.get("NextToken")
            if not token:
                return dict(totals)


class SnsEmail:
    def __init__(self, sns, topic_arn: str):
        self._sns, self._topic_arn = sns, topic_arn

    def send(self, subject: str, body: str) -> None:
        self._sns.publish(TopicArn=self._topic_arn, Subject=subject[:100], Message=body)
