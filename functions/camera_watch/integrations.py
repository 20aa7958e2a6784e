"""The AWS side of the camera watch: the store's detection state, the cameras' heartbeats, their video."""

import json
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError
from watch import Heartbeat

# The heartbeat's key, as the camera writes it (pi/greeter_camera/heartbeat.py).
HEARTBEAT_KEY = "crops/{stream}/heartbeat.json"
# A heartbeat is a few hundred bytes; anything much bigger is not one.
_MAX_HEARTBEAT_BYTES = 4096


class DynamoDBDetectionState:
    """FrameSearchStateTable's `camera#<camera>` item, written by the store-hours state machine (the same item
    the frame-search function reads): detection RUNNING or STOPPED; missing = RUNNING (a stack whose state
    machine has not run yet)."""

    def __init__(self, dynamodb, table_name: str):
        self._dynamodb = dynamodb
        self._table = table_name

    def detection_running(self, camera: str) -> bool:
        item = self._dynamodb.get_item(
            TableName=self._table, Key={"pk": {"S": f"camera#{camera}"}}, ProjectionExpression="detection"
        ).get("Item")
        return (item.get("detection", {}).get("S") if item else "RUNNING") == "RUNNING"


class RekognitionProcessorState:
    """StreamProcessor mode: detection runs while the camera's stream processor does (the state machine starts
    and stops it)."""

    RUNNING = frozenset({"STARTING", "RUNNING", "UPDATING"})

    def __init__(self, rekognition, processor_prefix: str):
        self._rekognition = rekognition
        self._prefix = processor_prefix

    def detection_running(self, camera: str) -> bool:
        try:
            status = self._rekognition.describe_stream_processor(Name=f"{self._prefix}{camera}")["Status"]
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                return False
            raise
        return status in self.RUNNING


class S3Heartbeats:
    def __init__(self, s3, bucket: str, stream_prefix: str):
        self._s3 = s3
        self._bucket = bucket
        self._prefix = stream_prefix

    def latest(self, camera: str) -> Heartbeat | None:
        try:
            answer = self._s3.get_object(Bucket=self._bucket, Key=HEARTBEAT_KEY.format(stream=self._prefix + camera))
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise
        stored_at = answer["LastModified"].timestamp()
        raw = answer["Body"].read(_MAX_HEARTBEAT_BYTES + 1)
        try:
            body = json.loads(raw) if len(raw) <= _MAX_HEARTBEAT_BYTES else {}
        except ValueError:
            body = {}
        # A heartbeat S3 holds is a sign the camera's credentials work even if its body is garbled.
        return Heartbeat(stored_at=stored_at, body=body if isinstance(body, dict) else {})


class KinesisVideoActivity:
    """When Kinesis Video Streams last received frames from a camera: the AWS/KinesisVideo namespace's
    PutMedia.IncomingFrames metric, per stream, by the minute."""

    def __init__(self, cloudwatch, stream_prefix: str):
        self._cloudwatch = cloudwatch
        self._prefix = stream_prefix

    def last_frames_at(self, camera: str, now: float, lookback_s: float) -> float | None:
        end = datetime.fromtimestamp(now, UTC)
        answer = self._cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "frames",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/KinesisVideo",
                            "MetricName": "PutMedia.IncomingFrames",
                            "Dimensions": [{"Name": "StreamName", "Value": self._prefix + camera}],
                        },
                        "Period": 60,
                        "Stat": "Sum",
                    },
                }
            ],
            StartTime=end - timedelta(seconds=lookback_s),
            EndTime=end,
        )
        result = answer["MetricDataResults"][0]
        seen = [t for t, v in zip(result["Timestamps"], result["Values"], strict=True) if v > 0]
        # A datapoint is the minute starting at its timestamp: frames came until that minute's end.
        return min(now, max(seen).timestamp() + 60) if seen else None
