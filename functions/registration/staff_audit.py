"""DynamoDB: the staff audit trail. One entry per write and per read of a person's photos, saying who did it:
{subject (the person's id), at_request (<when>#<request id>), action, staff, staff_sub, role, request_id} plus
counts (e.g. photos). Never a name, a note, a face or a photo key. Append-only: the function may only PutItem."""

from access import Staff


class StaffAuditTrail:
    def __init__(self, dynamodb, table: str):
        self._table = dynamodb.Table(table)

    def record(self, staff: Staff, action: str, subject: str, at: str, request_id: str, **counts: int) -> None:
        self._table.put_item(
            Item={
                "subject": subject,
                "at_request": f"{at}#{request_id}",
                "at": at,
                "action": action,
                "staff": staff.name,
                "staff_sub": staff.sub,
                "role": str(staff.role),
                "request_id": request_id,
                **counts,
            }
        )
