"""How a face-search record reaches the match function: Lambda's Kinesis event from the detection stream
(StreamProcessor mode) or its SQS event from the detection queue (FrameSearch mode). The record is the same;
the two differ in where its bytes, arrival time and identity are, and in what one failed record means for the
rest of its batch.

Whatever a raw record holds, `payload` returns bytes or raises `MalformedRecord`, and `arrived_at` returns
what the event says (sightings.py checks it).
"""

import binascii
from collections.abc import Mapping

from aws_lambda_powertools.utilities.batch import EventType
from sightings import MAX_RECORD_BYTES, MalformedRecord


def _dict(value: object) -> Mapping:
    return value if isinstance(value, Mapping) else {}


class StreamRecords:
    """Kinesis: the record's data is base64; Lambda checkpoints a shard just before the first failed record."""

    event_source = "aws:kinesis"
    event_type = EventType.KinesisDataStreams
    # Lambda redelivers everything after the first failed record: the rest of the batch is left for then,
    # and a whole batch that fails is bisected by Lambda until the failing record is alone.
    stop_after_failure = True
    # One invocation at a time per shard: a record is never handled twice at once, so its redelivery may take
    # back its own claim at once.
    concurrent_copies = False
    # Lambda gives up on older records itself (the mapping's MaximumRecordAgeInSeconds).
    max_age_seconds: float | None = None

    @staticmethod
    def key(raw: Mapping) -> str:
        """What the partial batch response names the record by."""
        return str(_dict(raw.get("kinesis")).get("sequenceNumber"))

    @staticmethod
    def alert_key(raw: Mapping) -> str:
        """The same on every redelivery of the record: it names the alert the record may send."""
        return str(raw.get("eventID"))

    @staticmethod
    def payload(raw: Mapping) -> bytes:
        data = _dict(raw.get("kinesis")).get("data")
        if not isinstance(data, str):
            raise MalformedRecord(f"no base64 data: a {type(data).__name__}")
        if len(data) > MAX_RECORD_BYTES * 4 // 3 + 4:
            raise MalformedRecord(f"larger than a Kinesis record ({len(data):,} base64 characters)")
        try:
            return binascii.a2b_base64(data.encode("ascii"), strict_mode=True)
        except (binascii.Error, ValueError, UnicodeEncodeError) as error:
            raise MalformedRecord(f"not base64: {error}") from None

    @staticmethod
    def arrived_at(raw: Mapping) -> object:
        """When the record reached the stream (an AWS clock), epoch seconds."""
        return _dict(raw.get("kinesis")).get("approximateArrivalTimestamp")


class QueueRecords:
    """SQS: the message body is the record's JSON; each message is deleted or returned on its own, after the
    function's backoff (app.py)."""

    event_source = "aws:sqs"
    event_type = EventType.SQS
    # A failed message comes back on its own, on the backoff; the messages after it are handled now (stopping
    # would fail them with it every time, and a record that keeps failing would drag them to the failure queue).
    stop_after_failure = False
    # At-least-once delivery: two invocations may hold copies of one message at the same moment.
    concurrent_copies = True
    # As the stream's mapping does: a greeting an hour late helps nobody, and a queue keeps records for days
    # (a paused or broken event source mapping, then a backlog).
    max_age_seconds: float | None = 3600

    @staticmethod
    def key(raw: Mapping) -> str:
        return str(raw.get("messageId"))

    @staticmethod
    def alert_key(raw: Mapping) -> str:
        return str(raw.get("messageId"))

    @staticmethod
    def payload(raw: Mapping) -> bytes:
        body = raw.get("body")
        if not isinstance(body, str):
            raise MalformedRecord(f"no message body: a {type(body).__name__}")
        if len(body) > MAX_RECORD_BYTES:
            raise MalformedRecord(f"larger than a queue message ({len(body):,} characters)")
        try:
            return body.encode("utf-8")
        except UnicodeEncodeError as error:  # lone surrogates: SQS itself refuses them
            raise MalformedRecord(f"not text: {error.reason}") from None

    @staticmethod
    def arrived_at(raw: Mapping) -> object:
        """When the message reached the queue (SentTimestamp, an AWS clock, in epoch milliseconds), epoch seconds."""
        sent = _dict(raw.get("attributes")).get("SentTimestamp")
        try:
            return int(sent) / 1000
        except (TypeError, ValueError):
            return None

    @staticmethod
    def receive_count(raw: Mapping) -> int:
        try:
            return max(1, int(_dict(raw.get("attributes")).get("ApproximateReceiveCount")))
        except (TypeError, ValueError):
            return 1


SOURCES = {source.event_source: source for source in (StreamRecords, QueueRecords)}


def source_of(event: Mapping) -> type[StreamRecords] | type[QueueRecords] | None:
    """The event's source, or None for an event with no records; an event from anything else is an error."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not records:
        return None
    first = _dict(records[0]).get("eventSource")
    source = SOURCES.get(first)
    if source is None:
        raise ValueError(f"not a detection stream or queue event: eventSource {str(first)[:100]!r}")
    return source
