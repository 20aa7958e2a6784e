"""What CloudWatch does that moto does not: pull metrics out of Powertools' log lines (Embedded Metric Format)
and evaluate metric alarms. moto stores metrics and alarm definitions; this turns the functions' EMF output
into moto's metric data the way CloudWatch Logs does, and judges an alarm over moto's data the way CloudWatch
does for a single-metric alarm: Period, EvaluationPeriods, DatapointsToAlarm, Statistic, Threshold,
ComparisonOperator and TreatMissingData. The state it reaches is stored on moto (SetAlarmState)."""

from datetime import UTC, datetime, timedelta

from helpers import emf_blobs

_COMPARE = {
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}


def publish_emf(cloudwatch, captured_stdout: str) -> int:
    """Every EMF document in a function's output, as metric data on moto; returns how many values went in."""
    count = 0
    for blob in emf_blobs(captured_stdout):
        meta = blob["_aws"]
        timestamp = datetime.fromtimestamp(meta["Timestamp"] / 1000, UTC)
        for directive in meta["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = [{"Name": name, "Value": str(blob[name])} for name in dimension_set]
                for metric in directive["Metrics"]:
                    values = blob[metric["Name"]]
                    for value in values if isinstance(values, list) else [values]:
                        cloudwatch.put_metric_data(
                            Namespace=directive["Namespace"],
                            MetricData=[
                                {
                                    "MetricName": metric["Name"],
                                    "Dimensions": dimensions,
                                    "Timestamp": timestamp,
                                    "Value": float(value),
                                    "Unit": metric.get("Unit", "None"),
                                }
                            ],
                        )
                        count += 1
    return count


def evaluate_alarm(cloudwatch, alarm_name: str, now: datetime) -> str:
    """Judge the alarm at `now` from the metric data moto holds; store and return its state."""
    [alarm] = cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    period = alarm["Period"]
    periods = alarm["EvaluationPeriods"]
    needed = alarm.get("DatapointsToAlarm", periods)
    # CloudWatch judges whole periods, aligned to the minute; the newest is the last one that has ended.
    end = now.replace(second=0, microsecond=0)
    start = end - timedelta(seconds=period * periods)
    statistic = alarm["Statistic"]
    points = cloudwatch.get_metric_statistics(
        Namespace=alarm["Namespace"],
        MetricName=alarm["MetricName"],
        Dimensions=alarm["Dimensions"],
        StartTime=start,
        EndTime=end,
        Period=period,
        Statistics=[statistic],
    )["Datapoints"]
    by_period: dict[int, float] = {}
    for point in points:
        slot = int((point["Timestamp"] - start).total_seconds() // period)
        if 0 <= slot < periods:
            by_period[slot] = point[statistic]
    breaching = 0
    judged = 0
    missing = alarm.get("TreatMissingData", "missing")
    for slot in range(periods):
        if slot in by_period:
            judged += 1
            breaching += _COMPARE[alarm["ComparisonOperator"]](by_period[slot], alarm["Threshold"])
        elif missing == "breaching":
            judged += 1
            breaching += 1
        elif missing == "notBreaching":
            judged += 1
    if judged == 0:
        state = alarm["StateValue"] if missing == "ignore" else "INSUFFICIENT_DATA"
    else:
        state = "ALARM" if breaching >= needed else "OK"
    if state != alarm["StateValue"]:
        cloudwatch.set_alarm_state(AlarmName=alarm_name, StateValue=state, StateReason=f"judged at {now.isoformat()}")
    return state
