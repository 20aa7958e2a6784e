"""One batched read of the people table per batch of records."""

import time

from greeter_common.observability import logger
from greeter_common.people import Person
from pydantic import ValidationError

_BATCH_GET_LIMIT = 100  # DynamoDB BatchGetItem takes at most 100 keys
_MAX_ROUNDS = 5  # rounds for UnprocessedKeys before giving up (the records are then retried)


class PeopleUnavailable(RuntimeError):
    """The people table could not be read; records that need it must be retried."""


def fetch_people(dynamodb_resource, table_name: str, person_ids: set[str]) -> dict[str, Person]:
    """The registered people among `person_ids`; an id with no (valid) row, or one being erased, is absent."""
    people: dict[str, Person] = {}
    ids = sorted(person_ids)
    for start in range(0, len(ids), _BATCH_GET_LIMIT):
        request = {table_name: {"Keys": [{"person_id": pid} for pid in ids[start : start + _BATCH_GET_LIMIT]]}}
        for round_number in range(_MAX_ROUNDS):
            if round_number:
                time.sleep(0.05 * 2**round_number)  # DynamoDB asks for backoff before retrying unprocessed keys
            response = dynamodb_resource.batch_get_item(RequestItems=request)
            for item in response["Responses"].get(table_name, []):
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
            raise PeopleUnavailable(f"DynamoDB left {len(request[table_name]['Keys'])} keys unprocessed")
    return people
