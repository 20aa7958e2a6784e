"""Camera-watch function: every minute, is each camera giving signs of life while its store is open?

Runs on a schedule (template.yaml, CameraWatchFunction). For each camera it asks watch.py for a report (see
there for what "silent" means in each detection mode) and emits, per camera, the CameraSilent metric its
alarm watches and, in FrameSearch mode, CameraClockSkew (the camera's clock minus AWS's, from its heartbeat).
"""

import boto3
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from greeter_common.observability import logger, metrics, tracer
from greeter_common.settings import CommaSeparated, load_settings
from integrations import (
    DynamoDBDetectionState,
    KinesisVideoActivity,
    RekognitionProcessorState,
    S3Heartbeats,
)
from pydantic import BaseModel, Field
from watch import CameraReport, CameraWatch


class CameraWatchSettings(BaseModel):
    detection_mode: str = Field(pattern="^(FrameSearch|StreamProcessor)$")
    cameras: CommaSeparated = Field(min_length=1)
    video_stream_prefix: str
    silence_minutes: int = Field(gt=0)
    crops_bucket: str = ""
    frame_search_state_table: str = ""
    processor_name_prefix: str = ""


settings = load_settings(CameraWatchSettings)

if settings.detection_mode == "FrameSearch":
    watch = CameraWatch(
        detection=DynamoDBDetectionState(boto3.client("dynamodb"), settings.frame_search_state_table),
        heartbeats=S3Heartbeats(boto3.client("s3"), settings.crops_bucket, settings.video_stream_prefix),
        silence_seconds=settings.silence_minutes * 60,
    )
else:
    watch = CameraWatch(
        detection=RekognitionProcessorState(boto3.client("rekognition"), settings.processor_name_prefix),
        video=KinesisVideoActivity(boto3.client("cloudwatch"), settings.video_stream_prefix),
        silence_seconds=settings.silence_minutes * 60,
    )


def _emit(report: CameraReport) -> None:
    dimensions = {**metrics.default_dimensions, "camera": report.camera}
    with single_metric(
        name="CameraSilent", unit=MetricUnit.Count, value=int(report.silent), default_dimensions=dimensions
    ):
        pass
    if report.clock_skew_s is not None:
        with single_metric(
            name="CameraClockSkew", unit=MetricUnit.Seconds, value=report.clock_skew_s, default_dimensions=dimensions
        ):
            pass


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=EventBridgeModel)
def lambda_handler(event: EventBridgeModel, context: LambdaContext) -> dict:
    # The schedule's own time, not the container's clock: a run that starts late still judges its minute.
    now = event.time.timestamp()
    reports = [watch.check(camera, now) for camera in settings.cameras]
    for report in reports:
        _emit(report)
        if report.silent:
            logger.warning(
                "camera silent while the store is open",
                extra={"camera": report.camera, "last_seen_at": report.last_seen_at, "state": report.state},
            )
    return {
        "silent": [r.camera for r in reports if r.silent],
        "watched": [r.camera for r in reports if r.should_work],
    }
