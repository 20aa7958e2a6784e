"""What calls the functions, played on moto as AWS would: Lambda's event source mappings on the detection
stream and the detection queue, and an EventBridge rule delivering S3 events to a function. The tests and the
local runtime share them.

`KinesisEventSource` (StreamProcessor mode) reads the stream and invokes the handler with Lambda's Kinesis
event; it honours partial batch responses, retries, bisects a failing batch, gives up on records older than
the maximum age and sends what it gives up on to the on-failure destination. Every setting (batch size,
batching window, retries, bisect, record age, destination) comes from the template's MatchFromDetectionStream.

`QueueEventSource` (FrameSearch mode) receives from the queue and invokes the handler with Lambda's SQS event;
it deletes what succeeded and leaves what failed to the queue: moto's queue keeps the visibility the function
set on a failed message, counts receives and moves a message to the failure queue by the template's
RedrivePolicy. Its settings come from MatchFromDetectionQueue.

`detection_source` picks the one the stack's mode has. Tests call `drain()` to deliver what is there now
(the queue's waits are skipped, and recorded in `waits`); the local runtime calls `poll()`, which waits as
Lambda does (until a batch is full or the batching window has passed).

`EventBridgeDelivery` gives the template's EventBridgeRule events (created on moto by local/stack.py, with
their own pattern) a way to reach a function: moto matches S3's "Object Created" events against the rule's
pattern, and the matching events are handed to the function asynchronously, as EventBridge invokes Lambda;
a failed invocation goes to the function's on-failure destination (its EventInvokeConfig).

The handlers and the records are real; only the AWS services that would call the handlers are played here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from local.stack import ACCOUNT, REGION, Stack

log = logging.getLogger("greeter.local")


class FunctionError(Exception):
    """An invocation failed (the function raised, timed out or its process died): Lambda's error payload."""

    def __init__(self, payload: dict) -> None:
        super().__init__(f"{payload.get('errorType', 'Error')}: {payload.get('errorMessage', '')}")
        self.payload = payload


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


def _arrival(record: dict) -> float:
    arrival = record["ApproximateArrivalTimestamp"]
    return arrival.timestamp() if hasattr(arrival, "timestamp") else float(arrival)


@dataclass
class KinesisEventSource:
    """The template's MatchFromDetectionStream: the MatchFunction on the DetectionStream."""

    stack: Stack
    handler: Callable[[dict, Any], dict]
    context: Any
    mapping: str = "MatchFromDetectionStream"
    invocations: list[Invocation] = field(default_factory=list)
    poll_interval: float = 0.2  # how often poll() reads an idle stream
    # When records reach the stream (their approximateArrivalTimestamp, and the record age limit's clock): moto
    # stamps the real time; a test that plays a simulated clock gives it here, so arrival and the frames' own
    # times share one clock.
    clock: Callable[[], float] | None = None
    # Called after an invocation that failed records, before Lambda retries them (e.g. to recycle the container).
    after_failure: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        properties = self.stack.resolve(self.stack.resources[self.mapping]["Properties"])
        self.settings = properties
        self.function = _function_logical_id(self.stack, self.mapping)
        self.stream_arn = properties["EventSourceArn"]
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

    @property
    def max_retries(self) -> int:
        """How often a failing record is retried before it is given up on."""
        return int(self.settings["MaximumRetryAttempts"])

    def event(self, documents: list[bytes], arrival: float, partition_key: str = "entrance", shard: int = 0) -> dict:
        """The event Lambda would invoke the function with for these records (to invoke the handler directly)."""
        records = []
        for i, data in enumerate(documents):
            sequence_number = f"495451152434909850182800677149731445821800625932442{shard}{i:03d}"
            records.append(
                kinesis_event_record(
                    self.stack, self.stream_arn, f"shardId-{shard:012d}", sequence_number, data, partition_key, arrival
                )
            )
        return {"Records": records}

    # ------------------------------------------------------------------ producing
    def put(self, document: dict | bytes, partition_key: str = "entrance") -> None:
        data = document if isinstance(document, bytes) else json.dumps(document).encode()
        put = self.kinesis.put_record(StreamName=self.stream_name, Data=data, PartitionKey=partition_key)
        if self.clock is not None:
            self._arrivals[put["SequenceNumber"]] = self.clock()

    def _arrival(self, record: dict) -> float:
        return self._arrivals.get(record["SequenceNumber"]) or _arrival(record)

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
        return kinesis_event_record(
            self.stack,
            self.stream_arn,
            shard,
            sequence_number=record["SequenceNumber"],
            data=record["Data"],
            partition_key=record["PartitionKey"],
            arrival=self._arrival(record),
        )

    def _invoke(self, records: list[dict]) -> tuple[set[str], bool]:
        """Invoke once; return the failed sequence numbers and whether the whole invocation failed."""
        try:
            response = self.handler({"Records": records}, self.context)
            error = None
        except (BatchProcessingError, FunctionError) as exc:  # every record failed, or the function did
            response, error = None, exc
        self.invocations.append(Invocation(records, response, error))
        if error is not None:
            return {r["kinesis"]["sequenceNumber"] for r in records}, True
        return {item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])}, False

    def drain(self, max_rounds: int = 1000) -> None:
        """Deliver everything on the stream, with the template's retry, bisect and failure settings."""
        self._read()
        for shard in self._pending:
            self._deliver(shard, max_rounds)

    def poll(self, stop: threading.Event) -> None:
        """Deliver records as they arrive until `stop` is set: a batch goes out when it is full or when the
        batching window has passed since its first record was read (Lambda's MaximumBatchingWindowInSeconds)."""
        batch_size = int(self.settings.get("BatchSize", 100))
        window = float(self.settings.get("MaximumBatchingWindowInSeconds", 0))
        first_seen: dict[str, float] = {}
        while not stop.is_set():
            try:
                self._read()
                for shard, pending in self._pending.items():
                    if not pending:
                        first_seen.pop(shard, None)
                        continue
                    started = first_seen.setdefault(shard, time.monotonic())
                    if len(pending) >= batch_size or time.monotonic() - started >= window:
                        self._deliver(shard)
                        first_seen.pop(shard, None)
            except Exception:  # a poller never dies of one bad round; Lambda's would keep polling too
                log.exception("the %s event source mapping failed a round; polling on", self.function)
            stop.wait(self.poll_interval)

    def _deliver(self, shard: str, max_rounds: int = 1000) -> None:
        batch_size = int(self.settings.get("BatchSize", 100))
        max_retries = int(self.settings.get("MaximumRetryAttempts", -1))
        max_age = int(self.settings.get("MaximumRecordAgeInSeconds", -1))
        bisect = bool(self.settings.get("BisectBatchOnFunctionError", False))
        pending = self._pending[shard]
        attempts: dict[str, int] = {}
        size = batch_size
        for _ in range(max_rounds):
            if max_age >= 0:
                expired = 0
                now = self.clock() if self.clock is not None else time.time()
                while expired < len(pending) and now - self._arrival(pending[expired]) > max_age:
                    expired += 1
                if expired:
                    self._send_to_failure_destination(
                        shard, [self._lambda_record(shard, r) for r in pending[:expired]], "RecordAgeExceeded"
                    )
                    del pending[:expired]
            if not pending:
                return
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
        raise AssertionError(f"shard {shard} never drained")

    def _send_to_failure_destination(
        self, shard: str, records: list[dict], condition: str = "RetryAttemptsExhausted"
    ) -> None:
        destination = self.settings["DestinationConfig"]["OnFailure"]["Destination"]
        sqs = boto3.client("sqs", region_name=REGION)
        sqs.send_message(
            QueueUrl=sqs.get_queue_url(QueueName=destination.split(":")[-1])["QueueUrl"],
            MessageBody=json.dumps(
                {
                    "requestContext": {"condition": condition},
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


def _function_logical_id(stack: Stack, mapping: str) -> str:
    """The function an event source mapping invokes (its FunctionName is a Ref to it)."""
    return stack.resources[mapping]["Properties"]["FunctionName"]["Ref"]


def sqs_event_record(queue_arn: str, message: dict, sent_at: float | None = None) -> dict:
    """One record of the SQS event Lambda hands the function, from a ReceiveMessage answer's message."""
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": str(round(sent_at * 1000)) if sent_at is not None else attributes.get("SentTimestamp"),
            "SenderId": attributes.get("SenderId", ACCOUNT),
            "ApproximateFirstReceiveTimestamp": attributes.get("ApproximateFirstReceiveTimestamp", ""),
        },
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


@dataclass
class QueueEventSource:
    """The template's MatchFromDetectionQueue: the MatchFunction on the DetectionQueue."""

    stack: Stack
    handler: Callable[[dict, Any], dict]
    context: Any
    mapping: str = "MatchFromDetectionQueue"
    invocations: list[Invocation] = field(default_factory=list)
    poll_interval: float = 0.2
    # When messages reach the queue (their SentTimestamp): moto stamps the real time; a test that plays a
    # simulated clock gives it here, so arrival and the frames' own times share one clock.
    clock: Callable[[], float] | None = None
    after_failure: Callable[[], None] | None = None
    # The waits drain() skipped: seconds a failed message was to stay invisible, as the function (or the
    # queue's visibility timeout) set them, in the order they came. A `clock` that can `advance` is moved on
    # by each skipped wait, so the function sees the time pass.
    waits: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        properties = self.stack.resolve(self.stack.resources[self.mapping]["Properties"])
        self.settings = properties
        self.function = _function_logical_id(self.stack, self.mapping)
        self.queue_arn = properties["EventSourceArn"]
        self.queue_name = self.queue_arn.split(":")[-1]
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.queue_url = self.sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
        redrive = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["RedrivePolicy"])
        self.redrive = json.loads(redrive["Attributes"]["RedrivePolicy"])
        self._sent: dict[str, float] = {}  # message id -> sent by `clock`

    @property
    def max_retries(self) -> int:
        return int(self.redrive["maxReceiveCount"]) - 1

    def event(self, documents: list[bytes], arrival: float, partition_key: str = "", shard: int = 0) -> dict:
        """The event Lambda would invoke the function with for these messages (to invoke the handler directly)."""
        return {
            "Records": [
                sqs_event_record(
                    self.queue_arn,
                    {
                        "MessageId": str(uuid.UUID(int=(shard << 64) + i)),
                        "ReceiptHandle": f"handle-{shard}-{i}",
                        "Body": data.decode("utf-8", "replace"),
                    },
                    sent_at=arrival,
                )
                for i, data in enumerate(documents)
            ]
        }

    # ------------------------------------------------------------------ producing
    def put(self, document: dict | bytes, partition_key: str = "") -> None:
        """Send a record as the frame-search function does (the partition key is the stream's, unused here)."""
        body = document.decode("utf-8", "replace") if isinstance(document, bytes) else json.dumps(document)
        sent = self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)
        if self.clock is not None:
            self._sent[sent["MessageId"]] = self.clock()

    # ------------------------------------------------------------------ consuming
    def _receive(self, limit: int) -> list[dict]:
        messages: list[dict] = []
        while len(messages) < limit:
            answer = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, limit - len(messages)),
                MessageSystemAttributeNames=["All"],
            )
            if not answer.get("Messages"):
                break
            messages.extend(answer["Messages"])
        return messages

    def _deliver(self, messages: list[dict]) -> None:
        """Invoke once; delete what succeeded (what failed stays on the queue, as the function left it)."""
        records = [sqs_event_record(self.queue_arn, m, self._sent.get(m["MessageId"])) for m in messages]
        try:
            response = self.handler({"Records": records}, self.context)
            error = None
        except Exception as exc:  # the function failed (every record failed, or it did): Lambda's invocation error
            response, error = None, exc
        self.invocations.append(Invocation(records, response, error))
        if error is not None:
            failed_ids = {m["MessageId"] for m in messages}
        else:
            failed_ids = {item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        if failed_ids and self.after_failure is not None:
            self.after_failure()

    def drain(self, max_rounds: int = 1000) -> None:
        """Deliver everything on the queue, as if time passed until it is empty: a message that failed, or whose
        invocation died, comes back at once rather than after its wait (the waits are recorded in `waits`), and
        what keeps failing is moved to the failure queue by moto's redrive."""
        batch_size = int(self.settings.get("BatchSize", 10))
        for _ in range(max_rounds):
            messages = self._receive(batch_size)
            if messages:
                self._deliver(messages)
            elif not self._skip_waits():
                return
        raise AssertionError("the detection queue never drained")

    def deliver_visible(self) -> None:
        """One round of what Lambda's poller does now: deliver what is visible on the queue, waiting for nothing."""
        messages = self._receive(int(self.settings.get("BatchSize", 10)))
        if messages:
            self._deliver(messages)

    def _skip_waits(self) -> int:
        """Make the messages that wait to be received again visible now; record how long each was to wait."""
        from moto.core.utils import unix_time_millis
        from moto.sqs.models import sqs_backends

        queue = sqs_backends[ACCOUNT][REGION].queues[self.queue_name]
        now = unix_time_millis()
        waiting = sorted((m for m in queue._messages if m.visible_at > now), key=lambda m: m.visible_at)
        longest = 0.0
        for message in waiting:
            wait = (message.visible_at - now) / 1000
            self.waits.append(round(wait, 1))
            longest = max(longest, wait)
            message.visible_at = 0
        if waiting and hasattr(self.clock, "advance"):  # a simulated clock lives through the waits it skips
            self.clock.advance(longest)
        return len(waiting)

    def poll(self, stop: threading.Event) -> None:
        """Deliver messages as they arrive until `stop` is set, a batch when it is full or when the batching
        window has passed since its first message was received; failed messages wait as the function set."""
        batch_size = int(self.settings.get("BatchSize", 10))
        window = float(self.settings.get("MaximumBatchingWindowInSeconds", 0))
        while not stop.is_set():
            try:
                messages = self._receive(batch_size)
                if messages:
                    started = time.monotonic()
                    while len(messages) < batch_size and time.monotonic() - started < window:
                        stop.wait(self.poll_interval)
                        messages.extend(self._receive(batch_size - len(messages)))
                    self._deliver(messages)
                    continue
            except Exception:  # a poller never dies of one bad round; Lambda's would keep polling too
                log.exception("the %s event source mapping failed a round; polling on", self.function)
            stop.wait(self.poll_interval)


def detection_source(stack: Stack, handler: Callable[[dict, Any], dict], context: Any, **options: Any):
    """The match function's event source in the stack's detection mode: the queue, or the stream."""
    if "MatchFromDetectionQueue" in stack.resources:
        return QueueEventSource(stack, handler, context, **options)
    return KinesisEventSource(stack, handler, context, **options)


class EventBridgeDelivery:
    """Delivers the events a template EventBridgeRule (on moto) matches to its function, asynchronously.

    moto's S3 sends "Object Created" events to EventBridge when the bucket says so (the template's
    NotificationConfiguration), and moto's rule matches them against the template's pattern, but moto has no
    Lambda targets: `install()` hands the events a rule matched for a function target to `invoke` on a
    worker thread. An invocation that fails goes to the function's EventInvokeConfig on-failure
    destination, with Lambda's destination record, since the template asks for no async retries.
    """

    def __init__(self, stack: Stack, function: str, invoke: Callable[[dict], Any]) -> None:
        self.stack = stack
        self.function = function
        self.function_arn = stack.get_att(function, "Arn")
        self.invoke = invoke
        self.events: queue.Queue[dict | None] = queue.Queue()
        self.delivered = 0
        self.failed = 0
        config = stack.resolve(stack.resources[function]["Properties"].get("EventInvokeConfig", {}))
        self.on_failure = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        self._thread = threading.Thread(target=self._run, name=f"eventbridge-{function}", daemon=True)

    def install(self) -> Callable[[], None]:
        """Catch what moto's rules send to this function; returns a function that undoes it."""
        from moto.events.models import Rule

        original = Rule.send_to_targets
        delivery = self

        def send_to_targets(rule: Rule, event: dict, transform_input: bool = True) -> None:
            ours = [t for t in rule.targets if t["Arn"] == delivery.function_arn]
            if ours and rule.event_pattern.matches_event(event):
                delivery.events.put(dict(event))
            others = [t for t in rule.targets if t["Arn"] != delivery.function_arn]
            if others:
                saved, rule.targets = rule.targets, others
                try:
                    original(rule, event, transform_input)
                finally:
                    rule.targets = saved

        Rule.send_to_targets = send_to_targets
        self._thread.start()

        def uninstall() -> None:
            Rule.send_to_targets = original
            self.events.put(None)

        return uninstall

    def _run(self) -> None:
        while (event := self.events.get()) is not None:
            event = self._as_eventbridge_delivers(event)
            try:
                self.invoke(event)
                self.delivered += 1
            except FunctionError as error:
                self.failed += 1
                log.warning("%s failed on %s: %s", self.function, event["detail"]["object"]["key"], error)
                self._send_to_failure_destination(event, error.payload)
            except Exception:  # the runtime itself: say so and go on with the next event
                self.failed += 1
                log.exception("could not invoke %s", self.function)

    @staticmethod
    def _as_eventbridge_delivers(event: dict) -> dict:
        """moto's event has a numeric time and no id; EventBridge sends an id and an ISO 8601 time."""
        event = dict(event)
        event["id"] = event.get("id") or str(uuid.uuid4())
        when = event.get("time")
        if isinstance(when, int | float):
            event["time"] = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        # ...and S3's object detail as S3 writes it: "etag", no empty version id.
        obj = {k: v for k, v in event["detail"]["object"].items() if v is not None}
        if "eTag" in obj:
            obj["etag"] = obj.pop("eTag")
        event["detail"] = {**event["detail"], "object": obj}
        return event

    def _send_to_failure_destination(self, event: dict, error: dict) -> None:
        if not self.on_failure:
            return
        sqs = boto3.client("sqs", region_name=REGION)
        sqs.send_message(
            QueueUrl=sqs.get_queue_url(QueueName=self.on_failure.split(":")[-1])["QueueUrl"],
            MessageBody=json.dumps(
                {
                    "version": "1.0",
                    "timestamp": datetime.now(UTC).isoformat(),
                    "requestContext": {
                        "requestId": str(uuid.uuid4()),
                        "functionArn": f"{self.function_arn}:$LATEST",
                        "condition": "RetriesExhausted",
                        "approximateInvokeCount": 1,
                    },
                    "requestPayload": event,
                    "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
                    "responsePayload": error,
                }
            ),
        )
