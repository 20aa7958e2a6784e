"""Match function: face-search records in, one alert email per recognised visitor per visit out.

Rekognition writes a record for every analysed frame (most with no face or no match). For each batch
from the detection stream this function decodes every record up front, reads the people it needs in
one BatchGetItem, then walks the records in order (Powertools BatchProcessor, partial batch
responses): malformed records are logged, counted and skipped; a person's first sighting of a visit
claims the visit in DynamoDB and sends the email; every later sighting is counted and stays silent.
A transient DynamoDB/SNS failure fails just that record, which Lambda redelivers.
"""

import time
from collections import OrderedDict

import boto3
from alerts import VideoLinks, compose
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from greeter_common.observability import logger, metrics, tracer
from greeter_common.settings import load_settings
from people_lookup import PeopleUnavailable, fetch_people
from pydantic import BaseModel
from sightings import Frame, MalformedRecord, Sighting, decode
from visits import Claim, VisitLedger


class Settings(BaseModel):
    people_table: str
    visits_table: str
    alerts_topic_arn: str
    match_threshold: float
    alert_cooldown_minutes: int
    video_stream_prefix: str
    video_link_hours: float
    store_name: str
    store_time_zone: str
    snapshots_bucket: str = ""


settings = load_settings(Settings)


def now() -> float:
    return time.time()


# Few, quick retries inside the invocation; beyond them the record fails and Lambda redelivers it.
_aws_config = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=3, read_timeout=5)
_session = boto3.session.Session()
_dynamodb = _session.resource("dynamodb", config=_aws_config)
_sns = _session.client("sns", config=_aws_config)
# Snapshot links: SigV4 on the bucket's regional endpoint (SigV2 links fail in newer regions and are being retired).
_s3 = (
    _session.client(
        "s3", config=_aws_config.merge(Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))
    )
    if settings.snapshots_bucket
    else None
)
visits = VisitLedger(_dynamodb.Table(settings.visits_table), settings.alert_cooldown_minutes * 60, clock=lambda: now())
video_links = VideoLinks(_session, settings.video_link_hours)
processor = BatchProcessor(event_type=EventType.KinesisDataStreams)

# What this container knows, to spare DynamoDB a write per frame (DynamoDB stays the source of truth):
# person_id -> last_seen written for their open, alerted visit.
_open_visits: dict[str, float] = {}
# Alerts this container published, so a redelivered record never publishes twice from here.
_published: OrderedDict[str, None] = OrderedDict()
_EXTEND_EVERY = min(60.0, settings.alert_cooldown_minutes * 60 / 4)
_SNAPSHOT_LINK_SECONDS = 3600


def _visit_open_here(person_id: str, at: float) -> bool:
    last_seen = _open_visits.get(person_id)
    return last_seen is not None and at - last_seen < visits.cooldown_seconds


class AlertRun:
    """One batch of records: decoded up front so the people table is read once for the whole batch."""

    def __init__(self, raw_records: list[dict]):
        current = now()
        self.frames: dict[str, Frame | MalformedRecord] = {}
        for raw in raw_records:
            try:
                frame = decode(raw["kinesis"]["data"], settings.match_threshold, settings.video_stream_prefix)
            except MalformedRecord as error:
                frame = error
            self.frames[raw["kinesis"]["sequenceNumber"]] = frame
        seen = {s.person_id for frame in self.frames.values() if isinstance(frame, Frame) for s in frame.sightings}
        # Decided once per batch, so a person not looked up below is never later taken for an unknown one.
        self.open_here = {person_id for person_id in seen if _visit_open_here(person_id, current)}
        wanted = seen - self.open_here
        self.people, self.people_error = {}, None
        if wanted:
            try:
                self.people = fetch_people(_dynamodb, settings.people_table, wanted)
            except (ClientError, BotoCoreError, PeopleUnavailable) as error:
                logger.exception("could not read the people table; their records will be retried")
                self.people_error = error
        self.outcome: dict[str, str] = {}  # person_id -> sent | quiet | unknown | failed, within this batch
        self.still_here: dict[str, float] = {}  # person_id -> latest sighting of a quiet person

    def handle(self, record: KinesisStreamRecord) -> None:
        metrics.add_metric(name="RecordsReceived", unit=MetricUnit.Count, value=1)
        frame = self.frames[record.kinesis.sequence_number]
        if isinstance(frame, MalformedRecord):
            logger.warning(
                "skipping a malformed record",
                sequence_number=record.kinesis.sequence_number,
                reason=str(frame),
            )
            metrics.add_metric(name="MalformedRecords", unit=MetricUnit.Count, value=1)
            return
        _count_frame(frame)
        for sighting in frame.sightings:
            self._alert_once(sighting, alert_id=f"{record.event_id}/{sighting.person_id}")

    def _alert_once(self, sighting: Sighting, alert_id: str) -> None:
        person_id = sighting.person_id
        outcome = self.outcome.get(person_id)
        if outcome == "failed":
            return  # redelivered together with the earlier record of this person that failed
        if outcome == "unknown":
            metrics.add_metric(name="UnknownPersons", unit=MetricUnit.Count, value=1)
            return
        if outcome in ("sent", "quiet") or person_id in self.open_here:
            self._stay_quiet(sighting)
            return
        if self.people_error is not None:
            self.outcome[person_id] = "failed"
            raise PeopleUnavailable(f"people table unreadable: {self.people_error}")
        person = self.people.get(person_id)
        if person is None:
            logger.warning("a matched face belongs to no registered person (erased or unfinished)", person_id=person_id)
            metrics.add_metric(name="UnknownPersons", unit=MetricUnit.Count, value=1)
            self.outcome[person_id] = "unknown"
            return
        try:
            claim = visits.claim(person_id, alert_id, sighting.camera, sighting.seen_at)
            if claim is not Claim.WON:
                if claim is Claim.OPEN:
                    self.still_here[person_id] = sighting.seen_at
                self.outcome[person_id] = "quiet"
                metrics.add_metric(name="AlertsSuppressed", unit=MetricUnit.Count, value=1)
                return
            if alert_id not in _published:
                self._send(person, sighting)
                _remember_published(alert_id)
        except Exception:
            self.outcome[person_id] = "failed"
            logger.exception("alert not sent; the record will be retried", person_id=person_id)
            raise
        self.outcome[person_id] = "sent"
        _open_visits[person_id] = min(sighting.seen_at, now())
        try:
            visits.mark_sent(person_id, alert_id)
        except (ClientError, BotoCoreError):
            # The email is out; failing the record now would send it twice. The visit stays claimed
            # (PENDING) and so still silences other records until the cooldown passes.
            logger.exception("alert sent but not marked as sent", person_id=person_id)
            metrics.add_metric(name="AlertMarkFailures", unit=MetricUnit.Count, value=1)

    def _stay_quiet(self, sighting: Sighting) -> None:
        metrics.add_metric(name="AlertsSuppressed", unit=MetricUnit.Count, value=1)
        self.outcome.setdefault(sighting.person_id, "quiet")
        latest = self.still_here.get(sighting.person_id, 0.0)
        self.still_here[sighting.person_id] = max(latest, sighting.seen_at)

    @tracer.capture_method
    def _send(self, person, sighting: Sighting) -> None:
        video_url = video_links.around(sighting.stream_arn, sighting.seen_at)
        if video_url is None:
            metrics.add_metric(name="VideoLinkMissing", unit=MetricUnit.Count, value=1)
        snapshot_url = None
        if _s3 is not None and sighting.snapshot_key:
            snapshot_url = _s3.generate_presigned_url(
                "get_object",
                Params={"Bucket": settings.snapshots_bucket, "Key": sighting.snapshot_key},
                ExpiresIn=_SNAPSHOT_LINK_SECONDS,
            )
        alert = compose(
            person,
            sighting,
            store_name=settings.store_name,
            time_zone=settings.store_time_zone,
            cooldown_minutes=settings.alert_cooldown_minutes,
            video_url=video_url,
            video_hours=video_links.seconds / 3600,
            snapshot_url=snapshot_url,
        )
        _sns.publish(
            TopicArn=settings.alerts_topic_arn,
            Subject=alert.subject,
            Message=alert.body,
            MessageAttributes=alert.attributes,
        )
        latency_ms = max(0.0, (now() - sighting.seen_at) * 1000)
        metrics.add_metric(name="AlertsSent", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="AlertLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
        logger.info("alert sent", person_id=person.person_id, camera=sighting.camera, latency_ms=round(latency_ms))

    def keep_visits_open(self) -> None:
        """People still in view keep their visit open; one write per person per minute at most."""
        current = now()
        for person_id, seen_at in self.still_here.items():
            seen_at = min(seen_at, current)
            if person_id in _open_visits and seen_at - _open_visits[person_id] < _EXTEND_EVERY:
                continue
            try:
                visits.extend(person_id, seen_at)
            except (ClientError, BotoCoreError):
                logger.exception("could not extend a visit; a later sighting will", person_id=person_id)
                continue
            _open_visits[person_id] = seen_at


def _count_frame(frame: Frame) -> None:
    if frame.faces == 0:
        metrics.add_metric(name="EmptyFrames", unit=MetricUnit.Count, value=1)
        return
    metrics.add_metric(name="FacesDetected", unit=MetricUnit.Count, value=frame.faces)
    metrics.add_metric(name="FacesMatched", unit=MetricUnit.Count, value=len(frame.sightings))
    if frame.below_threshold:
        metrics.add_metric(name="FacesBelowThreshold", unit=MetricUnit.Count, value=frame.below_threshold)
    if frame.without_person:
        metrics.add_metric(name="FacesWithoutPerson", unit=MetricUnit.Count, value=frame.without_person)


def _remember_published(alert_id: str, keep: int = 10_000) -> None:
    _published[alert_id] = None
    while len(_published) > keep:
        _published.popitem(last=False)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context) -> dict:
    run = AlertRun(event.get("Records", []))
    try:
        return process_partial_response(event=event, record_handler=run.handle, processor=processor, context=context)
    finally:
        run.keep_visits_open()
