"""Frame-search function: one face crop uploaded by a camera -> one SearchFacesByImage -> one face-search
record on the detection queue (see crop_search.py for the steps and integrations.py for the AWS calls).

Invoked by an EventBridge rule on the crops bucket's "Object Created" events under crops/ (template.yaml).
"""

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from crop_search import CropSearch, Outcome
from greeter_common.observability import logger, metrics, tracer
from greeter_common.settings import CommaSeparated, load_settings
from integrations import (
    DynamoDBDetectionState,
    KinesisVideoStreams,
    QueueRecordWriter,
    RekognitionFaceSearcher,
    S3CropStore,
)
from pydantic import BaseModel, Field


class FrameSearchSettings(BaseModel):
    crops_bucket: str
    frame_search_state_table: str
    collection_id: str
    match_threshold: float = Field(ge=0, le=100)
    detection_queue_url: str
    video_stream_prefix: str
    cameras: CommaSeparated = Field(min_length=1)
    crop_max_age_seconds: int = Field(gt=0)
    searches_per_minute_per_camera: int = Field(gt=0)
    keep_match_snapshots: bool


settings = load_settings(FrameSearchSettings)

# Throttling (ThrottlingException, ProvisionedThroughputExceededException) is retried by the SDK's standard
# mode: up to 4 attempts with jittered exponential backoff (at most ~7 s in all), well inside the crop age
# limit. If it still fails, the invocation fails and Lambda's own retries and failure queue take over.
_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 4})

crop_search = CropSearch(
    state=DynamoDBDetectionState(boto3.client("dynamodb"), settings.frame_search_state_table),
    searcher=RekognitionFaceSearcher(
        boto3.client("rekognition", config=_RETRIES),
        settings.crops_bucket,
        settings.collection_id,
        settings.match_threshold,
    ),
    crops=S3CropStore(boto3.client("s3"), settings.crops_bucket),
    records=QueueRecordWriter(boto3.client("sqs", config=_RETRIES), settings.detection_queue_url),
    video_streams=KinesisVideoStreams(boto3.client("kinesisvideo")),
    stream_prefix=settings.video_stream_prefix,
    cameras=settings.cameras,
    max_age_seconds=settings.crop_max_age_seconds,
    searches_per_minute=settings.searches_per_minute_per_camera,
    keep_snapshots=settings.keep_match_snapshots,
)

_SEARCHED = {Outcome.MATCHED, Outcome.UNKNOWN_FACE, Outcome.NO_FACE, Outcome.UNREADABLE}
# Three metrics, the ones someone reads: searches made (the dashboard; the bill), the cap (the dashboard and its
# alarm) and crops dropped unsearched (a camera whose crops come stale, for a closed store, or under a wrong key).
# A custom metric costs $0.30 a month, so each crop's own outcome is in its "crop handled" log line (Logs Insights
# counts them by `outcome`), and a crop the function fails on is a Lambda error (AWS/Lambda Errors, alarmed).


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=S3EventNotificationEventBridgeModel)
def lambda_handler(event: S3EventNotificationEventBridgeModel, context: LambdaContext) -> dict:
    key = event.detail.object.key
    if event.detail.bucket.name != settings.crops_bucket:
        raise ValueError(f"event for bucket {event.detail.bucket.name}, not the crops bucket {settings.crops_bucket}")
    # Throttling beyond the retries, or a fault, raises: the invocation fails and Lambda retries the event.
    outcome = crop_search.handle(key, uploaded_at=event.time.timestamp())
    if outcome in _SEARCHED:
        metrics.add_metric(name="SearchesMade", unit=MetricUnit.Count, value=1)
    elif outcome is Outcome.OVER_CAP:
        metrics.add_metric(name="CropsOverCap", unit=MetricUnit.Count, value=1)
    else:
        metrics.add_metric(name="CropsNotSearched", unit=MetricUnit.Count, value=1)
    return {"key": key, "outcome": outcome.value}
