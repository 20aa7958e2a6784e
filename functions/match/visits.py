"""The alert cooldown: one open visit per person per store, held in DynamoDB so it holds across
concurrent invocations and shards.

A visit opens when a person is seen and has not been seen for the cooldown; it stays open while they
keep being seen (each sighting extends it), so a customer browsing for an hour is one visit and one
email. The claim is a conditional write that names the alert about to be sent (`alert_id`, unique to
the Kinesis record that claimed it): if publishing fails, the record is retried and the same alert can
re-claim its own PENDING visit, while every other record sees the visit as taken. So a failure between
the claim and the publish neither loses the alert nor sends it twice.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from botocore.exceptions import ClientError


class Claim(Enum):
    WON = "won"  # a new visit: send the alert
    OPEN = "open"  # the visit was already alerted: stay silent
    IN_FLIGHT = "in_flight"  # another record is alerting for this visit right now: stay silent


@dataclass
class VisitLedger:
    table: object  # boto3 DynamoDB Table
    cooldown_seconds: int
    clock: Callable[[], float] = time.time

    def claim(self, person_id: str, alert_id: str, camera: str, seen_at: float) -> Claim:
        now = self.clock()
        last_seen = min(seen_at, now)  # a camera clock running ahead must not hold a visit open
        try:
            self.table.update_item(
                Key={"person_id": person_id},
                UpdateExpression=(
                    "SET alert_id = :alert, alert_status = :pending, camera = :camera, first_seen = :seen,"
                    " last_seen = :seen, expires_at = :expires"
                ),
                ConditionExpression=(
                    "attribute_not_exists(person_id) OR last_seen < :stale"
                    " OR (alert_id = :alert AND alert_status = :pending)"
                ),
                ExpressionAttributeValues={
                    ":alert": alert_id,
                    ":pending": "PENDING",
                    ":camera": camera,
                    ":seen": _number(last_seen),
                    ":stale": _number(now - self.cooldown_seconds),
                    ":expires": int(last_seen + self.cooldown_seconds) + 1,
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            holder = error.response.get("Item", {})
            if holder.get("alert_status", {}).get("S") == "SENT":
                return Claim.OPEN
            return Claim.IN_FLIGHT
        return Claim.WON

    def extend(self, person_id: str, seen_at: float) -> None:
        """The person is still here: keep their visit open for another cooldown from this sighting."""
        try:
            self.table.update_item(
                Key={"person_id": person_id},
                UpdateExpression="SET last_seen = :seen, expires_at = :expires",
                ConditionExpression="attribute_exists(person_id) AND last_seen < :seen",
                ExpressionAttributeValues={
                    ":seen": _number(seen_at),
                    ":expires": int(seen_at + self.cooldown_seconds) + 1,
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def mark_sent(self, person_id: str, alert_id: str) -> None:
        self.table.update_item(
            Key={"person_id": person_id},
            UpdateExpression="SET alert_status = :sent",
            ConditionExpression="alert_id = :alert",
            ExpressionAttributeValues={":sent": "SENT", ":alert": alert_id},
        )


def _number(seconds: float) -> Decimal:
    return Decimal(str(round(seconds, 3)))
