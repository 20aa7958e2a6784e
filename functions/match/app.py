"""Match function: face-search records in, one alert email per recognised visitor per visit out (see
greeting.py for the decisions, integrations.py for the AWS calls, alert_email.py for the email).

Invoked by one of two event source mappings (template.yaml), whichever the detection mode has:
  - the detection stream (StreamProcessor mode): partial batch responses, bisect on error, 8 retries, then a
    pointer to the records in the failure queue;
  - the detection queue (FrameSearch mode): partial batch responses; a failed message is made visible again
    after a short backoff rather than the queue's 3-minute visibility timeout, and the queue parks it in the
    failure queue on its ninth failure.
"""

import time
from zoneinfo import ZoneInfo

import boto3
from alert_email import EmailSettings
from aws_lambda_powertools.utilities.batch import BatchProcessor, process_partial_response
from botocore.config import Config
from deliveries import QueueRecords, StreamRecords, source_of
from greeter_common.arrivals import ArrivalPublisher
from greeter_common.observability import logger, metrics, tracer
from greeter_common.settings import CommaSeparated, load_settings
from greeter_common.visit_history import VisitHistory
from greeting import Cooldown, Greeter
from integrations import DynamoDBPeople, DynamoDBVisits, QueueRetries, S3SnapshotLinks, SnsAlerts, TabletArrivals
from pydantic import BaseModel, Field
from sightings import Cameras


class Settings(BaseModel):
    people_table: str
    visits_table: str
    visit_history_table: str
    visit_retention_days: int = Field(gt=0)
    alerts_topic_arn: str
    match_threshold: float = Field(ge=0, le=100)
    alert_cooldown_minutes: int = Field(gt=0)
    video_stream_arn_prefix: str
    camera_names: CommaSeparated = Field(min_length=1)
    # The staff app (https://<its CloudFront domain>): the email links to the visit's page there.
    staff_app_url: str = Field(pattern=r"^https?://[^/\s]+$")
    store_name: str
    store_time_zone: str
    snapshots_bucket: str = ""
    # The staff tablets' arrivals channel (AppSync Events HTTP endpoint); empty: no tablets are told.
    arrivals_http_endpoint: str = ""
    # FrameSearch mode's detection queue, whose failed messages come back on the backoff; empty on the stream.
    detection_queue_url: str = ""


settings = load_settings(Settings)


def now() -> float:
    return time.time()


# Few, quick retries inside the invocation; beyond them the record fails and Lambda redelivers it.
_aws_config = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=3, read_timeout=5)
_session = boto3.session.Session()
_dynamodb = _session.resource("dynamodb", config=_aws_config)
# No SDK retries for Publish: SnsAlerts retries only what SNS provably refused (integrations.py).
_sns = _session.client("sns", config=_aws_config.merge(Config(retries={"total_max_attempts": 1})))
# Snapshot links: SigV4 on the bucket's regional endpoint (SigV2 links fail in newer regions and are being retired).
_s3 = _session.client(
    "s3", config=_aws_config.merge(Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))
)

greeter = Greeter(
    people=DynamoDBPeople(_dynamodb, settings.people_table),
    visits=DynamoDBVisits(
        _dynamodb,
        settings.visits_table,
        VisitHistory(
            _dynamodb.Table(settings.visit_history_table),
            ZoneInfo(settings.store_time_zone),
            settings.visit_retention_days,
        ),
    ),
    alerts=SnsAlerts(_sns, settings.alerts_topic_arn),
    snapshot_links=S3SnapshotLinks(_s3, settings.snapshots_bucket) if settings.snapshots_bucket else None,
    email=EmailSettings(
        store_name=settings.store_name,
        time_zone=settings.store_time_zone,
        cooldown_minutes=settings.alert_cooldown_minutes,
        staff_app_url=settings.staff_app_url,
    ),
    cooldown=Cooldown(settings.alert_cooldown_minutes * 60),
    threshold=settings.match_threshold,
    cameras=Cameras(settings.video_stream_arn_prefix, frozenset(settings.camera_names)),
    clock=lambda: now(),
    listeners=[
        # After the sent-mark wrote the history row: a tablet catching up (GET /visits/now) finds the visit.
        TabletArrivals(
            ArrivalPublisher(settings.arrivals_http_endpoint, _session.region_name, _session.get_credentials())
        ),
    ],
)
retries = QueueRetries(_session.client("sqs", config=_aws_config), settings.detection_queue_url)
processors = {
    # A whole batch that fails raises, so that Lambda bisects it down to the failing record.
    StreamRecords: BatchProcessor(event_type=StreamRecords.event_type),
    # Every message that fails is listed (and put on the backoff) instead: a raised error would return each of
    # them only after the queue's visibility timeout.
    QueueRecords: BatchProcessor(event_type=QueueRecords.event_type, raise_on_entire_batch_failure=False),
}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context) -> dict:
    source = source_of(event)
    if source is None:
        return {"batchItemFailures": []}
    batch = greeter.batch(event["Records"], source, getattr(context, "get_remaining_time_in_millis", None))
    try:
        response = process_partial_response(
            event=event, record_handler=batch.handle, processor=processors[source], context=context
        )
    finally:
        batch.finish()
    if source is QueueRecords:
        retries.back_off(event["Records"], response)
        if len(response.get("batchItemFailures", [])) == len(event["Records"]):
            # Every record failed (SNS or DynamoDB down): an invocation error, so that the function's errors
            # alarm sees it. The failed messages keep the backoff just set: an error changes no visibility.
            raise BatchFailed(f"all {len(event['Records'])} records failed; they come back on the backoff")
    return response


class BatchFailed(RuntimeError):
    """Every record of a batch from the detection queue failed."""
