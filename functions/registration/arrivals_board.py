"""The tablets' board: who is in the store now (open, alerted visits, newest first) and "I'm on it".

A visit is the match function's item in the visits table (functions/match/visits.py): one per person, with the
alert's id (`alert_id`, the visit's id here), the camera, and when the person was first and last seen. A
visit is open while the person was seen within the cooldown. "I'm on it" is recorded on the visit with a
conditional write, so of two assistants tapping at once exactly one gets it and the other is told who did;
then it is published on the arrivals channel so every tablet shows it.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError
from errors import AlreadyAcknowledged, VisitNotFound
from greeter_common.arrivals import ArrivalPublisher
from models import Acknowledgement, VisitView
from people_store import PeopleStore
from photo_store import PhotoStore


def _iso(seconds) -> str:
    return datetime.fromtimestamp(float(seconds), UTC).isoformat(timespec="seconds")


@dataclass
class ArrivalsBoard:
    visits: object  # boto3 DynamoDB Table (the visits table)
    people: PeopleStore
    photos: PhotoStore
    publisher: ArrivalPublisher
    cooldown_seconds: int
    link_seconds: int

    def in_store(self, now: float) -> list[VisitView]:
        items, args = (
            [],
            {
                "FilterExpression": Attr("last_seen").gte(int(now - self.cooldown_seconds))
                & Attr("alert_status").eq("SENT")
            },
        )
        while True:
            page = self.visits.scan(**args)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                break
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        views = []
        for item in items:
            person = self.people.get(item["person_id"])
            if person is None:  # erased since: gone from every list
                continue
            photo_url = self.photos.link(person.photo_keys[0], self.link_seconds)[0] if person.photo_keys else None
            views.append(
                VisitView(
                    visit_id=item["alert_id"],
                    person_id=person.person_id,
                    name=person.name,
                    notes=person.notes,
                    camera=item.get("camera", ""),
                    first_seen=_iso(item["first_seen"]),
                    last_seen=_iso(item["last_seen"]),
                    photo_url=photo_url,
                    acknowledged_by=item.get("acknowledged_by"),
                    acknowledged_at=item.get("acknowledged_at"),
                )
            )
        return sorted(views, key=lambda view: view.first_seen, reverse=True)

    def acknowledge(self, person_id: str, visit_id: str, staff: str, now: float) -> Acknowledgement:
        at = _iso(now)
        try:
            self.visits.update_item(
                Key={"person_id": person_id},
                UpdateExpression="SET acknowledged_by = :staff, acknowledged_at = :at",
                ConditionExpression="alert_id = :visit AND attribute_not_exists(acknowledged_by)",
                ExpressionAttributeValues={":staff": staff, ":at": at, ":visit": visit_id},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            item = self.visits.get_item(Key={"person_id": person_id}, ConsistentRead=True).get("Item") or {}
            if item.get("alert_id") == visit_id and item.get("acknowledged_by"):
                if item["acknowledged_by"] == staff:  # a retry of one's own tap
                    return Acknowledgement(
                        visit_id=visit_id, person_id=person_id, by=staff, at=item.get("acknowledged_at", at)
                    )
                raise AlreadyAcknowledged(f"{item['acknowledged_by']} is already looking after this customer") from None
            raise VisitNotFound("this visit has ended") from None
        ack = Acknowledgement(visit_id=visit_id, person_id=person_id, by=staff, at=at)
        self.publisher.publish([{"type": "ack", **ack.model_dump()}])
        return ack
