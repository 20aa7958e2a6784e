"""DynamoDB: the people table (item shape: greeter_common.people.Person), the visits table (the alert
cooldown, keyed by person) and the erasure audit table (append-only: one entry per erased person id)."""

from botocore.exceptions import ClientError
from greeter_common.people import Person

NOT_BEING_ERASED = "attribute_exists(person_id) AND attribute_not_exists(erasure_started_at)"


class RecordConflict(Exception):
    """The transaction met another registration's at the same moment: look again and retry."""


def _condition_failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


class PeopleStore:
    def __init__(self, dynamodb, people_table: str, visits_table: str, audit_table: str):
        self._people = dynamodb.Table(people_table)
        self._visits = dynamodb.Table(visits_table)
        self._audit = dynamodb.Table(audit_table)

    # ------------------------------------------------------------------ people
    def get(self, person_id: str) -> Person | None:
        """The person, unless absent or being erased (from the moment erasure starts, the person is gone)."""
        item = self._people.get_item(Key={"person_id": person_id}, ConsistentRead=True).get("Item")
        if item is None or "erasure_started_at" in item:
            return None
        return Person.model_validate(item)

    def put_unless_beaten(self, person: Person, rivals: set[str], now: str) -> str | None:
        """Record a new person whose face is like the faces of `rivals` (people being registered at the same
        time), and void each rival's id, in one transaction: it succeeds only if no rival is recorded or has
        voided this id first. None when recorded; otherwise the id of the person who was recorded instead.

        Two registrations of one face each index it, then look for the other. At least one of them sees the
        other (each indexes before it looks), and DynamoDB runs the two transactions one after the other, so
        exactly one is recorded. A void row is `erasure_started_at` + `registered_as`: gone for every reader."""
        # The table resource's client takes plain Python values (boto3 serialises them, as for put_item).
        items = [
            {
                "Put": {
                    "TableName": self._people.name,
                    "Item": person.model_dump(exclude_none=True),
                    "ConditionExpression": "attribute_not_exists(person_id)",
                }
            }
        ] + [
            {
                "Put": {
                    "TableName": self._people.name,
                    "Item": {"person_id": rival, "erasure_started_at": now, "registered_as": person.person_id},
                    "ConditionExpression": "attribute_not_exists(person_id)",
                }
            }
            for rival in sorted(rivals)
        ]
        try:
            self._people.meta.client.transact_write_items(TransactItems=items)
            return None
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" not in reasons:
                raise RecordConflict("DynamoDB cancelled the transaction for another one on the same ids") from error
        mine = self._item(person.person_id)
        if mine is not None:
            # Voided by a rival, or recorded by this very transaction (an earlier attempt whose answer was lost).
            return mine.get("registered_as")
        for rival in sorted(rivals):
            item = self._item(rival)
            if item is not None:
                return item.get("registered_as", rival)
        raise RecordConflict("the rival that blocked the transaction has been undone since")

    def _item(self, person_id: str) -> dict | None:
        return self._people.get_item(Key={"person_id": person_id}, ConsistentRead=True).get("Item")

    def void(self, person_id: str, registered_as: str, now: str) -> bool:
        """Void the id of a person being registered whose face turned out to be `registered_as`'s; False if
        that id is already recorded (or voided by someone else)."""
        try:
            self._people.put_item(
                Item={"person_id": person_id, "erasure_started_at": now, "registered_as": registered_as},
                ConditionExpression="attribute_not_exists(person_id)",
            )
            return True
        except ClientError as error:
            if _condition_failed(error):
                return False
            raise

    def delete(self, person_id: str) -> None:
        self._people.delete_item(Key={"person_id": person_id})

    def page(self, limit: int, start_after: str | None) -> tuple[list[Person], str | None]:
        args = {"Limit": limit, "FilterExpression": "attribute_not_exists(erasure_started_at)"}
        if start_after:
            args["ExclusiveStartKey"] = {"person_id": start_after}
        response = self._people.scan(**args)
        people = [Person.model_validate(item) for item in response.get("Items", [])]
        return people, response.get("LastEvaluatedKey", {}).get("person_id")

    def update_profile(self, person_id: str, changes: dict, removals: list[str], updated_at: str) -> Person | None:
        """Apply profile changes; None if the person is absent or being erased."""
        names = {f"#{field}": field for field in [*changes, *removals, "updated_at"]}
        values = {f":{field}": value for field, value in {**changes, "updated_at": updated_at}.items()}
        expression = "SET " + ", ".join(f"#{field} = :{field}" for field in [*changes, "updated_at"])
        if removals:
            expression += " REMOVE " + ", ".join(f"#{field}" for field in removals)
        try:
            item = self._people.update_item(
                Key={"person_id": person_id},
                UpdateExpression=expression,
                ConditionExpression=NOT_BEING_ERASED,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if _condition_failed(error):
                return None
            raise
        return Person.model_validate(item)

    def add_photo(self, person_id: str, face_id: str, key: str, updated_at: str) -> bool:
        """Record one more face and photo; False if the person is gone or being erased. Safe to retry:
        a face already recorded counts as success."""
        try:
            self._people.update_item(
                Key={"person_id": person_id},
                UpdateExpression="SET face_ids = list_append(face_ids, :face), "
                "photo_keys = list_append(photo_keys, :key), updated_at = :now",
                ConditionExpression=f"{NOT_BEING_ERASED} AND NOT contains(face_ids, :face_id)",
                ExpressionAttributeValues={":face": [face_id], ":key": [key], ":now": updated_at, ":face_id": face_id},
            )
            return True
        except ClientError as error:
            if not _condition_failed(error):
                raise
        person = self.get(person_id)
        return person is not None and face_id in person.face_ids

    def remove_photo(self, person_id: str, face_id: str, key: str) -> None:
        """Undo add_photo (compensation): drop the face and photo from the row if they are there."""
        item = self._people.get_item(Key={"person_id": person_id}, ConsistentRead=True).get("Item")
        if item is None or face_id not in item.get("face_ids", []):
            return
        self._people.update_item(
            Key={"person_id": person_id},
            UpdateExpression="SET face_ids = :faces, photo_keys = :keys",
            ConditionExpression="face_ids = :old_faces",
            ExpressionAttributeValues={
                ":faces": [f for f in item["face_ids"] if f != face_id],
                ":keys": [k for k in item.get("photo_keys", []) if k != key],
                ":old_faces": item["face_ids"],
            },
        )

    def start_erasure(self, person_id: str, started_at: str) -> Person | None:
        """Mark the person as being erased (every other route now treats them as gone) and return the row
        as it was; None if there is no row. A retried erasure finds the mark already there: fine."""
        try:
            item = self._people.update_item(
                Key={"person_id": person_id},
                UpdateExpression="SET erasure_started_at = if_not_exists(erasure_started_at, :now)",
                ConditionExpression="attribute_exists(person_id)",
                ExpressionAttributeValues={":now": started_at},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if _condition_failed(error):
                return None
            raise
        # A void row (a registration that lost a race) has no person in it: nothing to read, only to sweep.
        return Person.model_validate(item) if "name" in item else None

    # ------------------------------------------------------------------ visits and audit
    def delete_visit(self, person_id: str) -> bool:
        """Delete the person's alert-cooldown item; whether there was one."""
        response = self._visits.delete_item(Key={"person_id": person_id}, ReturnValues="ALL_OLD")
        return "Attributes" in response

    def record_erasure(self, entry: dict) -> None:
        """Append the erasure's audit entry. Never overwritten: a retried erasure keeps the first entry."""
        try:
            self._audit.put_item(Item=entry, ConditionExpression="attribute_not_exists(person_id)")
        except ClientError as error:
            if not _condition_failed(error):
                raise


class PeopleNames:
    """People's current names, many at once (one BatchGetItem per 100), for lists of visits. A person being
    erased (or a void row) is absent, as for every other reader."""

    def __init__(self, dynamodb, people_table: str):
        self._dynamodb, self._table = dynamodb, people_table

    def names(self, person_ids: set[str]) -> dict[str, str]:
        names: dict[str, str] = {}
        ids = sorted(person_ids)
        for start in range(0, len(ids), 100):
            request = {
                self._table: {
                    "Keys": [{"person_id": person_id} for person_id in ids[start : start + 100]],
                    "ProjectionExpression": "person_id, #name, erasure_started_at",
                    "ExpressionAttributeNames": {"#name": "name"},
                }
            }
            while request:
                answer = self._dynamodb.batch_get_item(RequestItems=request)
                names.update(
                    {
                        item["person_id"]: item.get("name", "")
                        for item in answer["Responses"][self._table]
                        if "erasure_started_at" not in item
                    }
                )
                request = answer.get("UnprocessedKeys") or {}
        return names
