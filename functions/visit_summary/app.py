"""Weekly summary: last week's visit numbers to the staff addresses (template parameter WeeklySummary=On).

Run by EventBridge Scheduler on Mondays at 08:00 store time (see summary.py for the numbers, integrations.py for
the AWS calls).
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext
from greeter_common.observability import logger, tracer
from greeter_common.settings import CommaSeparated, load_settings
from greeter_common.visit_history import VisitHistory
from integrations import CloudWatchStrangerCounts, SnsEmail
from pydantic import BaseModel, Field
from summary import compose, previous_week, week_numbers


class SummarySettings(BaseModel):
    visit_history_table: str
    alerts_topic_arn: str
    store_name: str
    store_time_zone: str
    stack_name: str
    cameras: CommaSeparated = Field(min_length=1)


settings = load_settings(SummarySettings)
time_zone = ZoneInfo(settings.store_time_zone)
# Retention only matters to writers; the summary reads.
history = VisitHistory(boto3.resource("dynamodb").Table(settings.visit_history_table), time_zone, retention_days=1)
strangers = CloudWatchStrangerCounts(boto3.client("cloudwatch"), settings.stack_name, settings.cameras, time_zone)
email = SnsEmail(boto3.client("sns"), settings.alerts_topic_arn)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    first, last = previous_week(datetime.now(time_zone))
    numbers = week_numbers(history, first, last, strangers, time_zone)
    subject, body = compose(settings.store_name, numbers)
    email.send(subject, body)
    logger.info("weekly summary sent", extra={"week_start": first.isoformat(), "days": len(numbers)})
    return {"week_start": first.isoformat(), "registered_visits": sum(n.registered_visitors for n in numbers)}
