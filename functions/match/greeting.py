"""The match function's decisions: one email per registered person per visit, the AWS side handed in (see
integrations.py for it and app.py for the wiring).

For each batch of records from the detection stream or queue (deliveries.py):
  1. every record is decoded up front (sightings.py); a rejected one (malformed, another stack's camera) is
     logged, counted and skipped, and a frame seen too long before it arrived (or, on the queue, a record
     that waited there over an hour) is counted as stale;
  2. the people the batch needs are read in one BatchGetItem (none for people whose visit this container
     knows is open);
  3. records are handled in order. A person's first sighting of a visit composes the email (pure text, with
     the link to the visit's page in the staff app), then claims the visit in the visits table with a
     conditional write naming the alert, then publishes, then records the alert as sent together with the
     visit history's row (one transaction). Every later sighting is silent, and costs no AWS call while this
     container knows the visit is open; a visit is extended (one transaction: the visit and its history row)
     only when its recorded last sighting lags by the cooldown's margin;
  4. on the stream, after a record fails, the rest of the batch is not attempted: Lambda redelivers from the
     failed record anyway, and a record that published must never come round again. A failure with the
     batch's first record fails the whole invocation, so Lambda bisects the batch until the failing record
     is alone, and only it reaches the failure queue. On the queue each message succeeds or fails alone.

The cooldown rule lives in `Cooldown` and nowhere else: the conditional writes and this container's memory
of open visits are both derived from it, and it is in AWS's time (when the frames were seen), never the
function's own or the camera's.
"""

import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Protocol

from alert_email import Alert, EmailSettings, compose
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.data_classes.common import DictWrapper
from deliveries import QueueRecords, StreamRecords
from greeter_common.observability import logger, metrics
from greeter_common.people import Person
from sightings import Cameras, Frame, Rejected, Sighting, Timing, arrival_time, decode

# A claim still PENDING this long after it was made belongs to an invocation that died and whose record did not
# come back (the function's timeout is 30 s; the stream redelivers within seconds, the queue after its 3-minute
# visibility timeout): another alert may take the visit over.
PENDING_TIMEOUT_SECONDS = 300
# Longer than the function's timeout (template.yaml, 30 s): an invocation that claimed a visit this long ago is
# over, so a copy of its record may take the claim back. Sooner, the claim may be another copy's, in flight.
INVOCATION_OVER_SECONDS = 60
# A record is only started with this much of the invocation left: one record's AWS calls can take seconds each
# when a service is failing (3 tries with 3-second connects), and a timed-out invocation would hold all its
# records until they are redelivered (the queue's 3-minute visibility timeout).
MIN_REMAINING_MS = 10_000
_REMEMBERED_VISITS = 10_000


class PeopleUnavailable(RuntimeError):
    """The people table could not be read; records that need it must be retried."""


class NotAttempted(RuntimeError):
    """An earlier record of this batch failed: Lambda redelivers this one from there."""


class OwnAlertInFlight(RuntimeError):
    """A copy of this record holds the visit's claim right now (the queue delivered it twice at once, or a
    failed attempt's claim landed): the record comes back later to find the email sent, or the claim free."""


class Claim(Enum):
    WON = "won"  # a new visit: send the alert
    OPEN = "open"  # the visit was already alerted: stay silent
    IN_FLIGHT = "in_flight"  # another alert is going out for this visit right now: stay silent
    OWN_IN_FLIGHT = "own_in_flight"  # this record's own alert, by another attempt that may still be running


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    last_seen: float  # the visit's last recorded sighting (the holder's, when the claim was not won)
    first_seen: float | None = None  # the visit's first sighting (its history row's key), when known
    holder: str | None = None  # the alert that holds the visit, when the claim was not won


@dataclass(frozen=True)
class Cooldown:
    """When a visit is over: the person has been out of view for the cooldown.

    The visits table holds each visit's last *recorded* sighting; writing every sighting would cost a write
    per frame, so a sighting is recorded only once it is `margin` past the last one recorded. The recorded
    sighting therefore lags the real last one by less than `margin`, and a visit is over once a sighting
    comes `seconds + margin` after the recorded one: the person was out of view for at least the cooldown
    (and at most a quarter longer).
    """

    seconds: float

    @property
    def margin(self) -> float:
        return self.seconds / 4

    def over_before(self, seen_at: float) -> float:
        """A visit whose recorded last sighting is at or before this is over when the person is seen at `seen_at`."""
        return seen_at - self.seconds - self.margin

    def is_over(self, recorded_last_seen: float, seen_at: float) -> bool:
        return recorded_last_seen <= self.over_before(seen_at)

    def needs_extending(self, recorded_last_seen: float, seen_at: float) -> bool:
        return seen_at - recorded_last_seen >= self.margin

    def expires_at(self, recorded_last_seen: float) -> int:
        """When the visit item may go (DynamoDB TTL): nothing can still be part of the visit by then."""
        return int(recorded_last_seen + self.seconds + self.margin) + 1


# ---------------------------------------------------------------------- what the decisions need from AWS
class PeopleDirectory(Protocol):
    def fetch(self, person_ids: set[str]) -> dict[str, Person]: ...


class VisitLedger(Protocol):
    def claim(
        self,
        person_id: str,
        alert_id: str,
        token: str,
        camera: str,
        seen_at: float,
        over_before: float,
        expires_at: int,
        retry_before: float,
        abandoned_before: float,
        now: float,
    ) -> ClaimResult: ...

    def release(self, person_id: str, alert_id: str) -> None: ...

    def mark_sent(self, person_id: str, alert_id: str, camera: str, first_seen: float, alerted_at: float) -> None:
        """The email is out: the visit is SENT and its history row written (alerted), both or neither."""
        ...

    def extend(self, person_id: str, first_seen: float, seen_at: float, expires_at: int, cameras: set[str]) -> bool:
        """Records the later sighting in the visit and its history row; False: not extended (the visit moved on)."""
        ...


class AlertChannel(Protocol):
    def publish(self, alert: Alert) -> None: ...


class SnapshotLinks(Protocol):
    def link(self, key: str) -> str: ...


class VisitListener(Protocol):
    """Told of each visit once its email is out (the staff tablets): one call per visit, never per frame. A
    failure is logged and counted; it never fails the record (the email is out: a retry would send it again)."""

    def visit_opened(self, person: Person, sighting: Sighting, alert: Alert) -> None: ...


@dataclass
class Greeter:
    people: PeopleDirectory
    visits: VisitLedger
    alerts: AlertChannel
    snapshot_links: SnapshotLinks | None
    email: EmailSettings
    cooldown: Cooldown
    threshold: float
    cameras: Cameras
    clock: Callable[[], float]
    listeners: Sequence[VisitListener] = ()
    # person id -> the last sighting the visits table holds for their visit, as far as this container knows.
    # Only ever a shortcut: the conditional writes decide.
    _recorded: OrderedDict[str, float] = field(default_factory=OrderedDict)
    # person id -> their open visit's first sighting and the cameras that saw them since its last recorded write:
    # what its next extension writes to the history row.
    _open: dict[str, tuple[float, set[str]]] = field(default_factory=dict)

    def batch(
        self,
        raw_records: Iterable[dict],
        source: type[StreamRecords] | type[QueueRecords],
        remaining_ms: Callable[[], int] | None = None,
    ) -> "Batch":
        return Batch(self, list(raw_records), source, remaining_ms)

    def recorded_last_seen(self, person_id: str) -> float | None:
        return self._recorded.get(person_id)

    def remember(self, person_id: str, last_seen: float, first_seen: float | None = None) -> None:
        self._recorded[person_id] = max(last_seen, self._recorded.get(person_id, last_seen))
        self._recorded.move_to_end(person_id)
        if first_seen is not None:
            first_seen = round(first_seen, 3)  # as the visits table holds it, so one visit is always one key
            if self._open.get(person_id, (None,))[0] != first_seen:
                self._open[person_id] = (first_seen, set())  # another visit: the cameras start afresh
        while len(self._recorded) > _REMEMBERED_VISITS:
            forgotten, _ = self._recorded.popitem(last=False)
            self._open.pop(forgotten, None)

    def forget(self, person_id: str) -> None:
        self._recorded.pop(person_id, None)
        self._open.pop(person_id, None)

    def seen_by(self, person_id: str, camera: str) -> None:
        if person_id in self._open:
            self._open[person_id][1].add(camera)

    def open_visit(self, person_id: str) -> tuple[float, set[str]] | None:
        return self._open.get(person_id)

    def known_open(self, person_id: str, seen_at: float) -> bool:
        recorded = self._recorded.get(person_id)
        return recorded is not None and not self.cooldown.is_over(recorded, seen_at)


class Batch:
    """One invocation's records; `handle` is the batch processor's record handler, `finish` runs after it."""

    def __init__(
        self,
        greeter: Greeter,
        raw_records: list[dict],
        source: type[StreamRecords] | type[QueueRecords],
        remaining_ms: Callable[[], int] | None = None,
    ):
        self.greeter = greeter
        self.source = source
        self.remaining_ms = remaining_ms  # the invocation's time left (Lambda's context)
        now = greeter.clock()
        self.frames: dict[str, Frame | Exception] = {}
        for raw in raw_records:
            raw = raw if isinstance(raw, dict) else {}
            arrived_at = source.arrived_at(raw)
            try:
                frame = decode(source.payload(raw), arrived_at, greeter.threshold, greeter.cameras, now)
                age = now - arrival_time(arrived_at, now)
                if source.max_age_seconds is not None and age > source.max_age_seconds:
                    frame = replace(frame, timing=Timing.STALE)  # waited too long on the queue
            except Exception as error:  # handed to the record's own handler: only that record fails
                frame = error
            self.frames[source.key(raw)] = frame
        latest: dict[str, float] = {}
        for frame in self.frames.values():
            if isinstance(frame, Frame) and frame.timing is Timing.CURRENT:
                for sighting in frame.sightings:
                    latest[sighting.person_id] = max(sighting.seen_at, latest.get(sighting.person_id, 0.0))
        self.people: dict[str, Person] = {}
        self.looked_up: set[str] = set()
        self.unreadable: set[str] = set()  # people whose rows could not be read
        self._look_up({person for person, seen_at in latest.items() if not greeter.known_open(person, seen_at)})
        self.outcome: dict[str, str] = {}  # person id -> sent | quiet | unknown, within this batch
        # person id -> the alert whose email is going out for their visit (claim in flight), within this batch
        self.in_flight: dict[str, str] = {}
        self.still_here: dict[str, float] = {}  # person id -> latest sighting while their visit is open
        self.strangers: dict[str, int] = {}  # camera -> faces of nobody registered (counted, never stored)
        self.clock_off: dict[str, list[float]] = {}  # camera -> the clock offsets of its records, when off
        self.failed = False

    def _look_up(self, person_ids: set[str]) -> None:
        if not person_ids:
            return
        self.looked_up |= person_ids
        try:
            self.people.update(self.greeter.people.fetch(person_ids))
        except Exception:  # the records that need these people fail, and only they
            logger.exception("could not read the people table; their records will be retried")
            self.unreadable |= person_ids

    # ------------------------------------------------------------------ the batch processor's record handler
    def handle(self, record: DictWrapper) -> None:
        metrics.add_metric(name="RecordsReceived", unit=MetricUnit.Count, value=1)
        if self.failed and self.source.stop_after_failure:
            raise NotAttempted("an earlier record of this batch failed")
        if self.remaining_ms is not None and self.remaining_ms() < MIN_REMAINING_MS:
            raise NotAttempted("too little of the invocation's time is left: the record is left for its retry")
        try:
            self._handle(record)
        except Exception:
            self.failed = True
            raise

    def _handle(self, record: DictWrapper) -> None:
        raw = record.raw_event
        frame = self.frames.get(self.source.key(raw))
        if isinstance(frame, Rejected):
            logger.warning(
                "skipping a record",
                record=self.source.key(raw),
                reason=str(frame),
                kind=frame.metric,
            )
            metrics.add_metric(name=frame.metric, unit=MetricUnit.Count, value=1)
            return
        if not isinstance(frame, Frame):
            raise RuntimeError(f"record could not be decoded: {type(frame).__name__}") from frame
        _count_frame(frame)
        strangers = frame.faces - len(frame.sightings) - frame.without_person
        if strangers > 0:
            self.strangers[frame.camera] = self.strangers.get(frame.camera, 0) + strangers
        if frame.camera_clock_off:
            self.clock_off.setdefault(frame.camera, []).append(frame.camera_clock_offset)
        if frame.timing is not Timing.CURRENT:
            if frame.sightings:
                logger.warning(
                    "stale sighting: nothing sent",
                    camera=frame.camera,
                    timing=frame.timing.value,
                    seen_at=frame.seen_at,
                    arrived_at=self.source.arrived_at(raw),
                )
                metrics.add_metric(name="StaleSightings", unit=MetricUnit.Count, value=len(frame.sightings))
            return
        for sighting in frame.sightings:
            self._greet(sighting, alert_id=f"{self.source.alert_key(raw)}/{sighting.person_id}")

    def _greet(self, sighting: Sighting, alert_id: str) -> None:
        greeter, person_id = self.greeter, sighting.person_id
        outcome = self.outcome.get(person_id)
        if outcome == "unknown":
            metrics.add_metric(name="UnknownPersons", unit=MetricUnit.Count, value=1)
            return
        if outcome in ("sent", "quiet") or greeter.known_open(person_id, sighting.seen_at):
            self._stay_quiet(sighting)
            return
        if self.in_flight.get(person_id, alert_id) != alert_id:  # only the holder's own record may take it
            metrics.add_metric(name="AlertsSuppressed", unit=MetricUnit.Count, value=1)
            return
        person = self._person(person_id)
        if person is None:
            logger.warning("a matched face belongs to no registered person (erased or unfinished)", person_id=person_id)
            metrics.add_metric(name="UnknownPersons", unit=MetricUnit.Count, value=1)
            self.outcome[person_id] = "unknown"
            return
        draft = compose(person, sighting, greeter.email)  # before the claim: wording can't fail a taken visit
        now = greeter.clock()
        result = greeter.visits.claim(
            person_id,
            alert_id,
            uuid.uuid4().hex,  # this attempt's: an SDK retry of the claim carries it, a copy of the record does not
            sighting.camera,
            sighting.seen_at,
            over_before=greeter.cooldown.over_before(sighting.seen_at),
            expires_at=greeter.cooldown.expires_at(sighting.seen_at),
            # On the stream a record is never handled twice at once: its own claim is its to take back.
            retry_before=now - INVOCATION_OVER_SECONDS if self.source.concurrent_copies else now + 1,
            abandoned_before=now - PENDING_TIMEOUT_SECONDS,
            now=now,
        )
        if result.claim is Claim.OWN_IN_FLIGHT:
            raise OwnAlertInFlight("a copy of this record holds the visit's claim")
        if result.claim is Claim.IN_FLIGHT:
            # Another alert's email is going out, or its invocation died on the way and its record will come
            # back (at once on the stream, after the visibility timeout on the queue, in any order with later
            # records). Nothing is taken as open: that record must find the claim still its own, and a later
            # batch asks again, until the visit is SENT or the claim lapses.
            self.in_flight[person_id] = result.holder or ""
            metrics.add_metric(name="AlertsSuppressed", unit=MetricUnit.Count, value=1)
            return
        if result.claim is Claim.OPEN:
            greeter.remember(person_id, result.last_seen, result.first_seen)
            self._stay_quiet(sighting)
            return
        try:
            alert = self._send(draft, sighting)
        except Exception:
            logger.exception(
                "alert not sent; the claim is released and the record will be retried", person_id=person_id
            )
            self._release(person_id, alert_id)
            raise
        greeter.remember(person_id, sighting.seen_at, sighting.seen_at)
        greeter.seen_by(person_id, sighting.camera)
        self.outcome[person_id] = "sent"
        try:
            greeter.visits.mark_sent(person_id, alert_id, sighting.camera, sighting.seen_at, alerted_at=greeter.clock())
        except Exception:  # the email is out: failing the record would send it again
            # The visit stays claimed (PENDING) and silences other alerts until PENDING_TIMEOUT_SECONDS pass; its
            # history row is written, without the alert, by its first extension.
            logger.exception("alert sent but not marked as sent", person_id=person_id)
            metrics.add_metric(name="AlertMarkFailures", unit=MetricUnit.Count, value=1)
        for listener in greeter.listeners:
            try:
                listener.visit_opened(person, sighting, alert)
            except Exception:  # same reason: the email is out
                logger.exception("a visit listener failed", listener=type(listener).__name__, person_id=person_id)
                metrics.add_metric(name="VisitListenerFailures", unit=MetricUnit.Count, value=1)

    def _person(self, person_id: str) -> Person | None:
        if person_id not in self.looked_up:
            self._look_up({person_id})  # only if this container's memory of the visit changed mid-batch
        if person_id in self.unreadable:
            raise PeopleUnavailable("the people table could not be read")
        return self.people.get(person_id)

    def _send(self, draft: Alert, sighting: Sighting) -> Alert:
        greeter = self.greeter
        alert = draft
        if greeter.snapshot_links is not None and sighting.snapshot_key:
            alert = draft.with_snapshot(greeter.snapshot_links.link(sighting.snapshot_key))
        greeter.alerts.publish(alert)
        latency_ms = max(0.0, (greeter.clock() - sighting.seen_at) * 1000)
        metrics.add_metric(name="AlertsSent", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="AlertLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
        logger.info("alert sent", person_id=sighting.person_id, camera=sighting.camera, latency_ms=round(latency_ms))
        return alert

    def _release(self, person_id: str, alert_id: str) -> None:
        """Give the visit back, so this alert's retry or any later record can still alert."""
        try:
            self.greeter.visits.release(person_id, alert_id)
        except Exception:  # the claim then lapses after PENDING_TIMEOUT_SECONDS
            logger.exception("could not release a claimed visit", person_id=person_id)

    def _stay_quiet(self, sighting: Sighting) -> None:
        metrics.add_metric(name="AlertsSuppressed", unit=MetricUnit.Count, value=1)
        self.outcome.setdefault(sighting.person_id, "quiet")
        self.still_here[sighting.person_id] = max(sighting.seen_at, self.still_here.get(sighting.person_id, 0.0))
        self.greeter.seen_by(sighting.person_id, sighting.camera)

    # ------------------------------------------------------------------ after the batch
    def finish(self) -> None:
        """Extend the visits of people still in view that near expiry; count cameras whose clock is off."""
        greeter = self.greeter
        for person_id, seen_at in self.still_here.items():
            recorded = greeter.recorded_last_seen(person_id)
            visit = greeter.open_visit(person_id)
            if recorded is None or visit is None or not greeter.cooldown.needs_extending(recorded, seen_at):
                continue
            first_seen, cameras = visit
            try:
                extended = greeter.visits.extend(
                    person_id, first_seen, seen_at, greeter.cooldown.expires_at(seen_at), set(cameras)
                )
            except Exception:  # a later sighting extends it
                logger.exception("could not extend a visit; a later sighting will", person_id=person_id)
                continue
            if extended:
                cameras.clear()  # written: the next extension adds only what comes after
                greeter.remember(person_id, seen_at)
            else:  # another container recorded a later sighting, or the visit was released or replaced
                greeter.forget(person_id)
        for camera, count in self.strangers.items():
            _camera_metric("StrangerSightings", MetricUnit.Count, count, camera)
        for camera, offsets in self.clock_off.items():
            worst = max(offsets, key=abs)
            logger.warning(
                "camera clock is off; its sightings are timed by AWS's clock",
                camera=camera,
                offset_seconds=round(worst),
                records=len(offsets),
            )
            # The camera's clock minus AWS's, as the camera watch reports it from heartbeats: one metric, one alarm.
            _camera_metric("CameraClockSkew", MetricUnit.Seconds, worst, camera)


def _camera_metric(name: str, unit: MetricUnit, value: float, camera: str) -> None:
    """A metric of one camera (the store-wide dimensions plus `camera`), emitted on its own."""
    with single_metric(
        name=name,
        unit=unit,
        value=value,
        namespace=metrics.namespace,
        default_dimensions={**metrics.default_dimensions, "camera": camera},
    ):
        pass


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
