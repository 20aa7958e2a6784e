"""DynamoDB: the people table (item shape: greeter_common.people.Person), the visits table (the alert
cooldown, keyed by person) and the erasure audit table (append-only: one entry per erased person id)."""

from botocore.exceptions import ClientError
from greeter_common.people import Person

NOT_BEING_ERASED = "attribute_exists(person_id) AND attribute_not_exists(erasure_started_at)"


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

    def put(self, person: Person) -> None:
        # No condition: person ids are fresh uuid4s, and an unconditional put is safe to retry after a timeout.
        self._people.put_item(Item=person.model_dump(exclude_none=True))

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
        return Person.model_validate(item)

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
    """People's current names, many at once (one BatchGetItem per 100), for lists of visits."""

    def __init__(self, dynamodb, people_table: str):
        self._dynamodb, self._table = dynamodb, people_table

    def names(self, person_ids: set[str]) -> dict[str, str]:
        names: dict[str, str] = {}
        ids = sorted(person_ids)
        for start in range(0, len(ids), 100):
            request = {
                self._table: {
                    "Keys": [{"person_id": person_id} for person_id in ids[start : start + 100]],
                    "ProjectionExpression": "person_id, #name",
                    "ExpressionAttributeNames": {"#name": "name"},
                }
            }
            while request:
                answer = self._dynamodb.batch_get_item(RequestItems=request)
                names.update({item["person_id"]: item.get("name", "") for item in answer["Responses"][self._table]})
                request = answer.get("UnprocessedKeys") or {}
        return names
