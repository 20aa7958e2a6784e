"""The AWS side of the match function: the people table, the visits table (and the visit history written with it),
the alerts topic, the staff tablets' arrivals channel, the snapshots bucket and the detection queue's retries. One
small class per service; the decisions are in greeting.py."""

import time
from collections.abc import Callable
from decimal import Decimal

from alert_email import Alert
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError
from deliveries import QueueRecords
from greeter_common.arrivals import ArrivalPublisher, arrival_event
from greeter_common.observability import logger, tracer
from greeter_common.people import Person
from greeter_common.visit_history import VisitHistory, iso
from greeting import Claim, ClaimResult, PeopleUnavailable
from pydantic import ValidationError
from sightings import Sighting

_BATCH_GET_LIMIT = 100  # DynamoDB BatchGetItem takes at most 100 keys
_MAX_ROUNDS = 5  # rounds for UnprocessedKeys before giving up (the records are then retried)


class DynamoDBPeople:
    """The registered people, read in one BatchGetItem per batch of records."""

    def __init__(self, dynamodb_resource, table_name: str):
        self._dynamodb = dynamodb_resource
        self._table = table_name

    @tracer.capture_method
    def fetch(self, person_ids: set[str]) -> dict[str, Person]:
        """The registered people among `person_ids`; an id with no (valid) row, or one being erased, is absent."""
        people: dict[str, Person] = {}
        ids = sorted(person_ids)
        for start in range(0, len(ids), _BATCH_GET_LIMIT):
            request = {self._table: {"Keys": [{"person_id": pid} for pid in ids[start : start + _BATCH_GET_LIMIT]]}}
            for round_number in range(_MAX_ROUNDS):
                if round_number:
                    time.sleep(0.05 * 2**round_number)  # DynamoDB asks for backoff before retrying unprocessed keys
                response = self._dynamodb.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self._table, []):
                    if "erasure_started_at" in item:
                        continue  # being erased: gone for every reader from the moment erasure starts
                    try:
                        people[item["person_id"]] = Person.model_validate(item)
                    except ValidationError as error:
                        # str(error) repeats the offending values (a name, notes): log only where and what kind.
                        problems = [{"field": ".".join(map(str, e["loc"])), "type": e["type"]} for e in error.errors()]
                        logger.error(
                            "people row has an unexpected shape", person_id=item.get("person_id"), problems=problems
                        )
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise PeopleUnavailable(f"DynamoDB left {len(request[self._table]['Keys'])} keys unprocessed")
        return people


class DynamoDBVisits:
    """VisitsTable: one item per person, their current (or last) visit, and the visit history beside it.

    person_id, alert_id (the record + person that claimed the visit), claim_token (that claim attempt's own),
    alert_status (PENDING while its email goes out, SENT once it is out, RELEASED when it could not go out),
    camera, first_seen, last_seen (the last recorded sighting, AWS's clock), claimed_at (the function's clock),
    expires_at (TTL).

    The visit history's row rides on the visit's own writes, in one TransactWriteItems each: the row is
    written with the sent-mark (so a released claim never leaves an "alerted" row, and both land or neither),
    and its end moves with the visit's extension. No call of its own.
    """

    def __init__(self, dynamodb_resource, table_name: str, history: VisitHistory):
        self._table = dynamodb_resource.Table(table_name)
        self._client = dynamodb_resource.meta.client  # serialises Python values as the table resource does
        self._history = history

    @tracer.capture_method
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
    ) -> ClaimResult:
        """Open a new visit for this alert, if the last one is over, or this alert's own pending claim was made
        before `retry_before` (a retry of a record whose attempt is over), or a pending claim was abandoned by an
        invocation that died. A refusal that shows this attempt's own token is its own claim, whose answer was
        lost: won."""
        try:
            self._table.update_item(
                Key={"person_id": person_id},
                UpdateExpression=(
                    "SET alert_id = :alert, claim_token = :token, alert_status = :pending, camera = :camera,"
                    " first_seen = :seen, last_seen = :seen, claimed_at = :now, expires_at = :expires"
                ),
                ConditionExpression=(
                    "attribute_not_exists(person_id) OR last_seen <= :over_before OR (alert_status = :pending AND"
                    " ((alert_id = :alert AND claimed_at < :retry_before) OR claimed_at < :abandoned))"
                ),
                ExpressionAttributeValues={
                    ":alert": alert_id,
                    ":token": token,
                    ":pending": "PENDING",
                    ":camera": camera,
                    ":seen": _number(seen_at),
                    ":now": _number(now),
                    ":over_before": _number(over_before),
                    ":retry_before": _number(retry_before),
                    ":abandoned": _number(abandoned_before),
                    ":expires": expires_at,
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            holder = error.response.get("Item", {})
            if holder.get("claim_token", {}).get("S") == token:
                return ClaimResult(Claim.WON, seen_at, seen_at)
            last_seen = float(holder.get("last_seen", {}).get("N", seen_at))
            first_seen = holder.get("first_seen", {}).get("N")
            status = holder.get("alert_status", {}).get("S")
            holder_alert = holder.get("alert_id", {}).get("S")
            if status == "SENT":
                claim = Claim.OPEN
            elif holder_alert == alert_id:
                claim = Claim.OWN_IN_FLIGHT
            else:
                claim = Claim.IN_FLIGHT
            return ClaimResult(claim, last_seen, float(first_seen) if first_seen else None, holder=holder_alert)
        return ClaimResult(Claim.WON, seen_at, seen_at)

    @tracer.capture_method
    def release(self, person_id: str, alert_id: str) -> None:
        """This alert's email could not go out: the visit is over for everyone, so its retry or any later record
        may claim it again."""
        try:
            self._table.update_item(
                Key={"person_id": person_id},
                UpdateExpression="SET alert_status = :released, last_seen = :never",
                ConditionExpression="alert_id = :alert AND alert_status = :pending",
                ExpressionAttributeValues={
                    ":released": "RELEASED",
                    ":never": 0,
                    ":alert": alert_id,
                    ":pending": "PENDING",
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    @tracer.capture_method
    def mark_sent(self, person_id: str, alert_id: str, camera: str, first_seen: float, alerted_at: float) -> None:
        """The email is out: the visit is SENT and its history row written, in one transaction. Written again (a
        retry whose answer was lost, the same alert redelivered) it changes nothing: the row is keyed by the
        visit's first sighting and only fills in what is missing."""
        self._client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": self._table.name,
                        "Key": {"person_id": person_id},
                        "UpdateExpression": "SET alert_status = :sent",
                        "ConditionExpression": "alert_id = :alert",
                        "ExpressionAttributeValues": {":sent": "SENT", ":alert": alert_id},
                    }
                },
                {"Update": self._history.opening(person_id, first_seen, camera, alerted_at=alerted_at)},
            ]
        )

    @tracer.capture_method
    def extend(self, person_id: str, first_seen: float, seen_at: float, expires_at: int, cameras: set[str]) -> bool:
        """The person is still here: record a later sighting of their open visit (the one that began at
        `first_seen`) and move its history row's end, in one transaction. False: not extended (another container
        recorded a later sighting, or the visit was released or replaced)."""
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self._table.name,
                            "Key": {"person_id": person_id},
                            "UpdateExpression": "SET last_seen = :seen, expires_at = :expires",
                            "ConditionExpression": (
                                "attribute_exists(person_id) AND first_seen = :first AND last_seen < :seen"
                                " AND alert_status <> :released"
                            ),
                            "ExpressionAttributeValues": {
                                ":seen": _number(seen_at),
                                ":first": _number(first_seen),
                                ":expires": expires_at,
                                ":released": "RELEASED",
                            },
                        }
                    },
                    {"Update": self._history.extending(person_id, first_seen, seen_at, cameras)},
                ]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException" or not _condition_failed(error):
                raise
            return False
        return True


def _condition_failed(error: ClientError) -> bool:
    """A cancelled transaction whose only reason is a condition that did not hold (not a conflict or throttling)."""
    reasons = [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]
    return "ConditionalCheckFailed" in reasons and set(reasons) <= {"ConditionalCheckFailed", "None"}


class TabletArrivals:
    """The staff tablets, told of each visit once its email is out: the arrival is published on the arrivals
    channel (AppSync Events), with the visit history's id for the visit so "I'm on it" finds it. The publisher
    never raises and counts its failures (ArrivalPublishFailed): a tablet missing a card never costs the email
    a retry."""

    def __init__(self, publisher: ArrivalPublisher):
        self._publisher = publisher

    @tracer.capture_method
    def visit_opened(self, person: Person, sighting: Sighting, alert: Alert) -> None:
        self._publisher.publish(
            [
                arrival_event(
                    visit_id=iso(sighting.seen_at),
                    person_id=person.person_id,
                    name=person.name,
                    notes=person.notes,
                    camera=sighting.camera,
                    seen_at=sighting.seen_at,
                    similarity=sighting.similarity,
                )
            ]
        )


def _number(seconds: float) -> Decimal:
    return Decimal(str(round(seconds, 3)))


# Throttling and connections that never reached SNS are safe to retry at once. A timeout or a 5xx is not:
# SNS may have accepted the message, and an email can't be taken back. Those fail the record instead.
_PUBLISH_ATTEMPTS = 3
_REFUSED = {"Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded", "KMSThrottlingException"}


class SnsAlerts:
    def __init__(self, sns, topic_arn: str, sleep: Callable[[float], None] = time.sleep):
        self._sns = sns  # a client with botocore's own retries off (see app.py)
        self._topic = topic_arn
        self._sleep = sleep

    @tracer.capture_method
    def publish(self, alert: Alert) -> None:
        for attempt in range(1, _PUBLISH_ATTEMPTS + 1):
            try:
                self._sns.publish(
                    TopicArn=self._topic,
                    Subject=alert.subject,
                    Message=alert.message,
                    MessageAttributes=alert.attributes,
                )
                return
            except ClientError as error:
                if error.response["Error"]["Code"] not in _REFUSED or attempt == _PUBLISH_ATTEMPTS:
                    raise
            except (EndpointConnectionError, ConnectTimeoutError):
                if attempt == _PUBLISH_ATTEMPTS:
                    raise
            self._sleep(0.1 * 2**attempt)


_SNAPSHOT_LINK_SECONDS = 3600


class S3SnapshotLinks:
    """Presigned links to the kept face crops (no AWS call: signed locally)."""

    def __init__(self, s3, bucket: str):
        self._s3 = s3
        self._bucket = bucket

    def link(self, key: str) -> str:
        return self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=_SNAPSHOT_LINK_SECONDS
        )


# A failed message's wait before it is received again, by how often it was received: 2, 4, 8, 16, 32 s, then a
# minute. The queue parks it in the failure queue on its ninth failure, about five minutes after the first.
_BACKOFF_CAP_SECONDS = 60


def backoff_seconds(receive_count: int) -> int:
    return min(_BACKOFF_CAP_SECONDS, 2 ** max(1, receive_count))


class QueueRetries:
    """Makes the detection queue's failed messages visible again after a short backoff: left alone they would
    return only after the queue's visibility timeout (3 minutes), and a greeting that late is no use. A failure
    here is logged and costs only the wait: the visibility timeout still brings the message back."""

    def __init__(self, sqs, queue_url: str):
        self._sqs = sqs
        self._queue_url = queue_url

    @tracer.capture_method
    def back_off(self, records: list[dict], response: dict) -> None:
        failed = {item.get("itemIdentifier") for item in response.get("batchItemFailures", [])}
        entries = [
            {
                "Id": str(i),
                "ReceiptHandle": record["receiptHandle"],
                "VisibilityTimeout": backoff_seconds(QueueRecords.receive_count(record)),
            }
            for i, record in enumerate(records)
            if isinstance(record, dict) and record.get("messageId") in failed and record.get("receiptHandle")
        ]
        if not entries or not self._queue_url:
            return
        for start in range(0, len(entries), 10):  # the batch call's limit
            try:
                answer = self._sqs.change_message_visibility_batch(
                    QueueUrl=self._queue_url, Entries=entries[start : start + 10]
                )
            except Exception:
                logger.exception("could not shorten the wait of failed messages; they return after the timeout")
                continue
            if answer.get("Failed"):
                logger.warning("some failed messages keep the full wait", failed=len(answer["Failed"]))
