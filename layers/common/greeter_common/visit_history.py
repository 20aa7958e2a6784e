"""The visit history: one item per visit of a registered person, kept for the store's retention and then expired.

Written by the match function inside the visits table's own writes (the same TransactWriteItems as the visit's
sent-mark when it opens, and as its extension when it goes on: no call of its own), read by the staff API (a day's
visits, a person's visits, who is in the store now, a CSV export) and by the weekly summary. Strangers are never
stored here: they are only counted (a metric per camera).

Item: person_id (partition key) and first_seen (sort key: the visit's first sighting, ISO 8601 UTC with
milliseconds, so keys sort in time order); last_seen; store_day (the store-time date the visit began: the
partition key of the ByDay index, so a day's visits are one query and a date range a few, never a scan);
cameras (a string set); alerted_at; acknowledged_by/acknowledged_at (a staff member's "I'm on it");
expires_at (TTL: last_seen plus the retention).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

BY_DAY_INDEX = "ByDay"


def iso(seconds: float) -> str:
    """Epoch seconds as the history's key format: ISO 8601 UTC, milliseconds, 'Z' (whole milliseconds first, so
    one instant always gives the same key however its float was rounded on the way)."""
    millis = round(float(seconds) * 1000)
    return datetime.fromtimestamp(millis // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{millis % 1000:03d}Z"


def epoch(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


class BadPageToken(ValueError):
    """A pagination token that this service did not hand out (or that was cut)."""


@dataclass(frozen=True)
class Visit:
    person_id: str
    key: str  # first_seen as stored: the visit's sort key
    first_seen: float
    last_seen: float
    store_day: str
    cameras: tuple[str, ...]
    alerted_at: float | None = None
    acknowledged_by: str | None = None
    acknowledged_at: float | None = None

    @property
    def dwell_seconds(self) -> float:
        return max(self.last_seen - self.first_seen, 0.0)

    @classmethod
    def from_item(cls, item: dict) -> Visit:
        def maybe(name: str) -> float | None:
            return epoch(item[name]) if item.get(name) else None

        return cls(
            person_id=item["person_id"],
            key=item["first_seen"],
            first_seen=epoch(item["first_seen"]),
            last_seen=epoch(item["last_seen"]),
            store_day=item["store_day"],
            cameras=tuple(sorted(item.get("cameras", ()))),
            alerted_at=maybe("alerted_at"),
            acknowledged_by=item.get("acknowledged_by"),
            acknowledged_at=maybe("acknowledged_at"),
        )


@dataclass
class VisitHistory:
    table: Any  # boto3 DynamoDB Table resource
    time_zone: ZoneInfo
    retention_days: int

    # ------------------------------------------------------------------ writes (the match function)
    def store_day(self, seconds: float) -> str:
        return datetime.fromtimestamp(seconds, self.time_zone).date().isoformat()

    def expires_at(self, last_seen: float) -> int:
        """When the visit goes (DynamoDB TTL): the retention after its last recorded sighting."""
        return int(last_seen + self.retention_days * 86400) + 1

    def opening(self, person_id: str, first_seen: float, camera: str, alerted_at: float | None = None) -> dict:
        """The write that records a visit's opening: one `Update` of a TransactWriteItems (or of update_item).

        Unconditional and idempotent: written again (a retried transaction, a redelivered record of the same
        alert) it changes nothing, and on a visit an extension already recorded it keeps the later last_seen."""
        update = (
            "SET last_seen = if_not_exists(last_seen, :first), store_day = :day,"
            " expires_at = if_not_exists(expires_at, :expires)"
        )
        values: dict[str, Any] = {
            ":first": iso(first_seen),
            ":day": self.store_day(first_seen),
            ":expires": self.expires_at(first_seen),
            ":cameras": {camera},
        }
        if alerted_at is not None:
            update += ", alerted_at = if_not_exists(alerted_at, :alerted)"
            values[":alerted"] = iso(alerted_at)
        return {
            "TableName": self.table.name,
            "Key": {"person_id": person_id, "first_seen": iso(first_seen)},
            "UpdateExpression": update + " ADD cameras :cameras",
            "ExpressionAttributeValues": values,
        }

    def extending(self, person_id: str, first_seen: float, last_seen: float, cameras: Iterable[str]) -> dict:
        """The write that moves a visit's end and adds the cameras that saw it since: one `Update`. It carries the
        whole item's shape, so a visit whose opening write was lost is still a complete (unalerted) row."""
        cameras = set(cameras)
        update = "SET last_seen = :last, store_day = :day, expires_at = :expires"
        values: dict[str, Any] = {
            ":last": iso(last_seen),
            ":day": self.store_day(first_seen),
            ":expires": self.expires_at(last_seen),
        }
        if cameras:
            update += " ADD cameras :cameras"
            values[":cameras"] = cameras
        return {
            "TableName": self.table.name,
            "Key": {"person_id": person_id, "first_seen": iso(first_seen)},
            "UpdateExpression": update,
            "ExpressionAttributeValues": values,
        }

    def opened(self, person_id: str, first_seen: float, camera: str, alerted_at: float | None = None) -> None:
        """A visit began (on its own, outside the match function's transactions). Idempotent."""
        self.table.update_item(**_without_table(self.opening(person_id, first_seen, camera, alerted_at)))

    def seen_again(self, person_id: str, first_seen: float, last_seen: float, cameras: Iterable[str]) -> None:
        """The visit goes on (on its own): move its end, never backwards, and add the cameras that saw it since."""
        write = _without_table(self.extending(person_id, first_seen, last_seen, cameras))
        try:
            self.table.update_item(**write, ConditionExpression="attribute_exists(first_seen) AND last_seen < :last")
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def acknowledged(self, person_id: str, first_seen: str, by: str, at: float) -> bool:
        """A staff member is looking after this visitor; the first acknowledgement stands. False: no such visit."""
        try:
            self.table.update_item(
                Key={"person_id": person_id, "first_seen": first_seen},
                UpdateExpression="SET acknowledged_by = if_not_exists(acknowledged_by, :by),"
                " acknowledged_at = if_not_exists(acknowledged_at, :at)",
                ConditionExpression="attribute_exists(first_seen)",
                ExpressionAttributeValues={":by": by, ":at": iso(at)},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # ------------------------------------------------------------------ reads (the staff API, the summary)
    def days_between(self, first: date, last: date) -> list[str]:
        return [(last - timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]

    def between(
        self, first: date, last: date, limit: int = 50, token: str | None = None
    ) -> tuple[list[Visit], str | None]:
        """Visits that began on the store-time days first..last, newest first, one page and the next page's token."""
        days = self.days_between(first, last)
        start_day, start_key = _decode_token(token) if token else (days[0] if days else "", None)
        if start_day not in days:
            raise BadPageToken("the page token is for another date range")
        visits: list[Visit] = []
        for day in days[days.index(start_day) :]:
            while len(visits) < limit:
                kwargs: dict[str, Any] = {
                    "IndexName": BY_DAY_INDEX,
                    "KeyConditionExpression": Key("store_day").eq(day),
                    "ScanIndexForward": False,
                    "Limit": limit - len(visits),
                }
                if start_key:
                    kwargs["ExclusiveStartKey"] = start_key
                page = self.table.query(**kwargs)
                visits += [Visit.from_item(item) for item in page["Items"]]
                start_key = page.get("LastEvaluatedKey")
                if not start_key:
                    break
            if len(visits) >= limit:
                if start_key:
                    return visits, _encode_token(day, start_key)
                following = days.index(day) + 1
                return visits, (_encode_token(days[following], None) if following < len(days) else None)
        return visits, None

    def of_person(self, person_id: str, limit: int = 50, token: str | None = None) -> tuple[list[Visit], str | None]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("person_id").eq(person_id),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if token:
            day, key = _decode_token(token)
            if day != person_id or not key:
                raise BadPageToken("the page token is for another person")
            kwargs["ExclusiveStartKey"] = key
        page = self.table.query(**kwargs)
        next_key = page.get("LastEvaluatedKey")
        return [Visit.from_item(item) for item in page["Items"]], (
            _encode_token(person_id, next_key) if next_key else None
        )

    def in_store_now(self, now: float, cooldown_seconds: int) -> list[Visit]:
        """Visits whose person was seen within the cooldown: the store's open visits, most recently seen first."""
        since = iso(now - cooldown_seconds)
        visits: list[Visit] = []
        # A visit still open began at most `retention` ago in principle, but in practice today or yesterday
        # (a visit open across midnight); older open visits would need a person seen for over a day.
        for day in {self.store_day(now), self.store_day(now - 86400), self.store_day(now - cooldown_seconds)}:
            kwargs: dict[str, Any] = {
                "IndexName": BY_DAY_INDEX,
                "KeyConditionExpression": Key("store_day").eq(day),
                "FilterExpression": Attr("last_seen").gte(since),
            }
            while True:
                page = self.table.query(**kwargs)
                visits += [Visit.from_item(item) for item in page["Items"]]
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted(visits, key=lambda visit: visit.last_seen, reverse=True)

    def visit(self, person_id: str, key: str) -> Visit | None:
        item = self.table.get_item(Key={"person_id": person_id, "first_seen": key}).get("Item")
        return Visit.from_item(item) if item else None

    def had_visit_before(self, person_id: str, before: float) -> bool:
        page = self.table.query(
            KeyConditionExpression=Key("person_id").eq(person_id) & Key("first_seen").lt(iso(before)),
            Limit=1,
            ProjectionExpression="first_seen",
        )
        return bool(page["Items"])

    # ------------------------------------------------------------------ erasure
    def erase(self, person_id: str) -> int:
        """Delete every visit of the person; returns how many there were."""
        erased = 0
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("person_id").eq(person_id),
            "ProjectionExpression": "person_id, first_seen",
        }
        with self.table.batch_writer() as batch:
            while True:
                page = self.table.query(**kwargs)
                for item in page["Items"]:
                    batch.delete_item(Key={"person_id": item["person_id"], "first_seen": item["first_seen"]})
                    erased += 1
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return erased


def _without_table(write: dict) -> dict:
    return {name: value for name, value in write.items() if name != "TableName"}


def _encode_token(partition: str, key: dict | None) -> str:
    raw = json.dumps({"p": partition, "k": key}, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> tuple[str, dict | None]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        document = json.loads(raw)
        partition, key = document["p"], document["k"]
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise BadPageToken("the page token is not one this API handed out") from error
    if not isinstance(partition, str) or not (key is None or isinstance(key, dict)):
        raise BadPageToken("the page token is not one this API handed out")
    if key is not None and not all(isinstance(v, str) for v in key.values()):
        raise BadPageToken("the page token is not one this API handed out")
    return partition, key
