"""The AWS side of a crop search: the state table, Rekognition, the crops bucket, the detection queue, KVS."""

from botocore.exceptions import ClientError
from crop_search import CropGone, NoFaceInCrop, UnreadableCrop
from greeter_common.observability import tracer
from greeter_common.records import FaceSearchRecord

# SearchFacesByImage returns the best matches first; the match function only needs the best one, and a
# few more show in the logs when two registered people look alike.
MAX_FACES = 3

_NO_FACE = {"InvalidParameterException"}  # "There are no faces in the image. Should be at least 1."
_UNREADABLE = {"InvalidImageFormatException", "ImageTooLargeException"}
_GONE = {"InvalidS3ObjectException"}


class DynamoDBDetectionState:
    """FrameSearchStateTable: `camera#<camera>` (written by the store-hours state machine) and the
    per-minute search counters `quota#<camera>#<minute>`."""

    def __init__(self, dynamodb, table_name: str):
        self._dynamodb = dynamodb
        self._table = table_name

    @tracer.capture_method
    def detection_running(self, camera: str) -> bool:
        item = self._dynamodb.get_item(
            TableName=self._table, Key={"pk": {"S": f"camera#{camera}"}}, ProjectionExpression="detection"
        ).get("Item")
        # No item yet means the store-hours state machine has not reconciled since the deploy: search, so a
        # fresh stack works at once. Anything but RUNNING afterwards (STOPPED, or a value we don't know) means
        # no search: outside opening hours no face is searched.
        detection = item.get("detection", {}).get("S") if item else "RUNNING"
        return detection == "RUNNING"

    @tracer.capture_method
    def take_search(self, camera: str, minute: str, cap: int, expires_at: int) -> bool:
        """Count one search against the camera's minute, atomically; False (and nothing counted) at the cap."""
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"quota#{camera}#{minute}"}},
                UpdateExpression="ADD searches :one SET expires_at = if_not_exists(expires_at, :expires_at)",
                ConditionExpression="attribute_not_exists(searches) OR searches < :cap",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":cap": {"N": str(cap)},
                    ":expires_at": {"N": str(expires_at)},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


class RekognitionFaceSearcher:
    def __init__(self, rekognition, bucket: str, collection_id: str, match_threshold: float):
        self._rekognition = rekognition
        self._bucket = bucket
        self._collection_id = collection_id
        self._threshold = match_threshold

    @tracer.capture_method
    def search(self, key: str) -> dict:
        """Search the collection for the crop's (largest) face; Rekognition reads the crop from S3 itself."""
        try:
            return self._rekognition.search_faces_by_image(
                CollectionId=self._collection_id,
                Image={"S3Object": {"Bucket": self._bucket, "Name": key}},
                FaceMatchThreshold=self._threshold,
                MaxFaces=MAX_FACES,
            )
        except ClientError as error:
            code = error.response["Error"]["Code"]
            message = error.response["Error"].get("Message", "")
            if code in _NO_FACE:
                raise NoFaceInCrop(message) from error
            if code in _UNREADABLE:
                raise UnreadableCrop(f"{code}: {message}") from error
            if code in _GONE:
                raise CropGone(message) from error
            raise


class S3CropStore:
    def __init__(self, s3, bucket: str):
        self._s3 = s3
        self._bucket = bucket

    @tracer.capture_method
    def keep_snapshot(self, key: str, snapshot_key: str) -> None:
        # Server-side copy: the bucket's default encryption applies and the snapshots/ lifecycle rule expires it.
        self._s3.copy_object(Bucket=self._bucket, Key=snapshot_key, CopySource={"Bucket": self._bucket, "Key": key})

    @tracer.capture_method
    def delete(self, key: str) -> None:
        self._s3.delete_object(Bucket=self._bucket, Key=key)

    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True


class QueueRecordWriter:
    """The detection queue, which the match function reads. A send whose answer was lost is retried by the SDK
    and may leave the record twice on the queue: the match function's claim makes it one alert all the same."""

    def __init__(self, sqs, queue_url: str):
        self._sqs = sqs
        self._queue_url = queue_url

    @tracer.capture_method
    def write(self, record: FaceSearchRecord) -> None:
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=record.model_dump_json(exclude_none=True))


class KinesisVideoStreams:
    """The cameras' Kinesis video stream ARNs (they end in a creation time, so they are looked up, once)."""

    def __init__(self, kinesisvideo):
        self._kinesisvideo = kinesisvideo
        self._arns: dict[str, str] = {}

    def arn(self, stream_name: str) -> str:
        if stream_name not in self._arns:
            info = self._kinesisvideo.describe_stream(StreamName=stream_name)["StreamInfo"]
            self._arns[stream_name] = info["StreamARN"]
        return self._arns[stream_name]
