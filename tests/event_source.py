"""Lambda's Kinesis event source mapping, played on moto: read the stream, invoke the handler, honour
partial batch responses, retry, bisect, and send what is given up on to the on-failure destination.

Every setting (batch size, retries, bisect, destination) is read from the function's Kinesis event in
template.yaml, so the tests exercise the template's own wiring. The handler and the records are real;
this only replaces the AWS service that would call the handler.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from moto.sns.models import sns_backends
from stack import ACCOUNT, REGION, Stack


def face_search_record(
    stream_arn: str,
    producer_timestamp: float,
    faces: list[dict] | None = None,
    frame_offset: float = 0.0,
    server_timestamp: float | None = None,
) -> dict:
    """A record in the shape Rekognition's stream processor writes (seed 000), `faces` from `face()`. Kinesis
    Video receives the fragment 0.3 s after the camera stamped it, unless `server_timestamp` says otherwise
    (a camera whose clock is off)."""
    return {
        "InputInformation": {
            "KinesisVideo": {
                "StreamArn": stream_arn,
                "FragmentNumber": "91343852333181501717324262640137742175000164731",
                "ServerTimestamp": producer_timestamp + 0.3 if server_timestamp is None else server_timestamp,
                "ProducerTimestamp": producer_timestamp,
                "FrameOffsetInSeconds": frame_offset,
            }
        },
        "StreamProcessorInformation": {"Status": "RUNNING"},
        "FaceSearchResponse": faces or [],
    }


def face(matches: list[tuple[str | None, float]] = (), left: float = 0.43) -> dict:
    """One detected face and its matches [(person id or None, similarity)], shaped like seed 000's."""
    return {
        "DetectedFace": {
            "BoundingBox": {"Height": 0.075, "Width": 0.05625, "Left": left, "Top": 0.40833333},
            "Confidence": 99.975174,
            "Landmarks": [
                {"X": left + 0.017, "Y": 0.4395594, "Type": "eyeLeft"},
                {"X": left + 0.035, "Y": 0.43744427, "Type": "eyeRight"},
                {"X": left + 0.031, "Y": 0.4526856, "Type": "nose"},
                {"X": left + 0.021, "Y": 0.4696949, "Type": "mouthLeft"},
                {"X": left + 0.036, "Y": 0.46704912, "Type": "mouthRight"},
            ],
            "Pose": {"Pitch": 2.9691637, "Roll": -6.8904796, "Yaw": 23.84388},
            "Quality": {"Brightness": 40.592964, "Sharpness": 96.09616},
        },
        "MatchedFaces": [
            {
                "Similarity": similarity,
                "Face": {
                    "BoundingBox": {"Height": 0.557692, "Width": 0.749838, "Left": 0.103426, "Top": 0.206731},
                    "FaceId": f"face-{person_id}-{i}",
                    "Confidence": 99.999201,
                    "ImageId": f"image-{person_id}-{i}",
                    **({"ExternalImageId": person_id} if person_id else {}),
                },
            }
            for i, (person_id, similarity) in enumerate(matches)
        ],
    }


def kinesis_event_record(
    stack: Stack,
    stream_arn: str,
    shard: str,
    sequence_number: str,
    data: bytes,
    partition_key: str,
    arrival: float,
) -> dict:
    """One record of the Kinesis event Lambda hands the function (base64 data, ids the batch utility uses)."""
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": sequence_number,
            "data": base64.b64encode(data).decode(),
            "approximateArrivalTimestamp": arrival,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard}:{sequence_number}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT}:role/{stack.name}-MatchFunctionRole",
        "awsRegion": REGION,
        "eventSourceARN": stream_arn,
    }


@dataclass
class Invocation:
    records: list[dict]
    response: dict | None
    error: Exception | None


@dataclass
class KinesisEventSource:
    """The MatchFunction's `Detections` event on the template's DetectionStream."""

    stack: Stack
    handler: Any
    context: Any
    function: str = "MatchFunction"
    event: str = "Detections"
    invocations: list[Invocation] = field(default_factory=list)
    # When records reach the stream (their approximateArrivalTimestamp): moto stamps the real time; a test
    # that plays a simulated clock gives it here, so arrival and the frames' own times share one clock.
    clock: Callable[[], float] | None = None
    # Called after an invocation that failed records, before Lambda retries them (e.g. to recycle the container).
    after_failure: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        events = self.stack.resources[self.function]["Properties"]["Events"]
        properties = self.stack.resolve(events[self.event]["Properties"])
        self.settings = properties
        self.stream_arn = properties["Stream"]
        self.stream_name = self.stream_arn.split("/")[-1]
        self.kinesis = boto3.client("kinesis", region_name=REGION)
        self._pending: dict[str, list[dict]] = {}  # shard -> records read but not yet processed
        self._iterators: dict[str, str] = {}
        self._arrivals: dict[str, float] = {}  # sequence number -> arrival by `clock`
        self.shards = self.kinesis.list_shards(StreamName=self.stream_name)["Shards"]
        for shard in self.shards:
            self._iterators[shard["ShardId"]] = self.kinesis.get_shard_iterator(
                StreamName=self.stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            self._pending[shard["ShardId"]] = []

    # ------------------------------------------------------------------ producing
    def put(self, document: dict | bytes, partition_key: str = "entrance") -> None:
        data = document if isinstance(document, bytes) else json.dumps(document).encode()
        put = self.kinesis.put_record(StreamName=self.stream_name, Data=data, PartitionKey=partition_key)
        if self.clock is not None:
            self._arrivals[put["SequenceNumber"]] = self.clock()

    def shard_for(self, partition_key: str) -> str:
        """The shard Kinesis puts a partition key's records on (MD5 of the key within a shard's hash range)."""
        hash_key = int(hashlib.md5(partition_key.encode()).hexdigest(), 16)  # noqa: S324 - Kinesis's own hashing
        for shard in self.shards:
            hash_range = shard["HashKeyRange"]
            if int(hash_range["StartingHashKey"]) <= hash_key <= int(hash_range["EndingHashKey"]):
                return shard["ShardId"]
        raise AssertionError(f"no shard holds partition key {partition_key!r}")

    # ------------------------------------------------------------------ consuming
    def _read(self) -> None:
        for shard, iterator in self._iterators.items():
            while iterator:
                response = self.kinesis.get_records(ShardIterator=iterator, Limit=10_000)
                self._pending[shard].extend(response["Records"])
                iterator = response.get("NextShardIterator")
                if not response["Records"]:
                    break
            self._iterators[shard] = iterator

    def _lambda_record(self, shard: str, record: dict) -> dict:
        arrival = self._arrivals.get(record["SequenceNumber"], record["ApproximateArrivalTimestamp"])
        return kinesis_event_record(
            self.stack,
            self.stream_arn,
            shard,
            sequence_number=record["SequenceNumber"],
            data=record["Data"],
            partition_key=record["PartitionKey"],
            arrival=arrival.timestamp() if hasattr(arrival, "timestamp") else arrival,
        )

    def _invoke(self, records: list[dict]) -> tuple[set[str], bool]:
        """Invoke once; return the failed sequence numbers and whether the whole invocation failed."""
        try:
            response = self.handler({"Records": records}, self.context)
            error = None
        except BatchProcessingError as exc:  # every record failed: Powertools fails the invocation
            response, error = None, exc
        self.invocations.append(Invocation(records, response, error))
        if error is not None:
            return {r["kinesis"]["sequenceNumber"] for r in records}, True
        return {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}, False

    def drain(self, max_rounds: int = 1000) -> None:
        """Deliver everything on the stream, with the template's retry, bisect and failure settings."""
        batch_size = int(self.settings.get("BatchSize", 100))
        max_retries = int(self.settings.get("MaximumRetryAttempts", -1))
        bisect = bool(self.settings.get("BisectBatchOnFunctionError", False))
        self._read()
        for shard, pending in self._pending.items():
            attempts: dict[str, int] = {}
            size = batch_size
            for _ in range(max_rounds):
                if not pending:
                    break
                batch = [self._lambda_record(shard, r) for r in pending[:size]]
                failed, whole = self._invoke(batch)
                if failed and self.after_failure is not None:
                    self.after_failure()
                if not failed:
                    del pending[: len(batch)]
                    size = batch_size
                    continue
                # Checkpoint just before the first failed record; everything from it on is redelivered.
                first = next(i for i, r in enumerate(batch) if r["kinesis"]["sequenceNumber"] in failed)
                del pending[:first]
                head = pending[0]["SequenceNumber"]
                attempts[head] = attempts.get(head, 0) + 1
                if max_retries >= 0 and attempts[head] > max_retries:
                    self._send_to_failure_destination(shard, batch[first:])
                    del pending[: len(batch) - first]
                    size = batch_size
                elif whole and bisect and len(batch) > 1:
                    size = max(1, len(batch) // 2)
            else:
                raise AssertionError(f"shard {shard} never drained")

    def _send_to_failure_destination(self, shard: str, records: list[dict]) -> None:
        destination = self.settings["DestinationConfig"]["OnFailure"]["Destination"]
        sqs = boto3.client("sqs", region_name=REGION)
        sqs.send_message(
            QueueUrl=sqs.get_queue_url(QueueName=destination.split(":")[-1])["QueueUrl"],
            MessageBody=json.dumps(
                {
                    "requestContext": {"condition": "RetryAttemptsExhausted"},
                    "KinesisBatchInfo": {
                        "shardId": shard,
                        "startSequenceNumber": records[0]["kinesis"]["sequenceNumber"],
                        "endSequenceNumber": records[-1]["kinesis"]["sequenceNumber"],
                        "batchSize": len(records),
                        "streamArn": self.stream_arn,
                    },
                }
            ),
        )


def sent_emails(stack: Stack, topic: str = "AlertsTopic") -> list[dict]:
    """What SNS (moto) received on the topic: subject, message and attributes of each publish."""
    arn = stack.ref(topic)
    notifications = sns_backends[ACCOUNT][REGION].topics[arn].sent_notifications
    return [
        {"id": message_id, "subject": subject, "message": message, "attributes": attributes}
        for message_id, message, subject, attributes, *_ in notifications
    ]
