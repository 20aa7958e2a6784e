"""The tablets' routes: who is in the store now, and "I'm on it"."""

import time

from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from errors import AlreadyAcknowledged, VisitNotFound
from models import Acknowledgement, AcknowledgeRequest, VisitsNow
from routes import PersonId, _json_only, _staff, refusals
from wiring import arrivals_board

router = APIGatewayRouter()


@router.get(
    "/visits",
    summary="Who is in the store now",
    description="Open visits (the person was seen within the cooldown), newest first, with who is looking after "
    "each. A tablet that was offline calls it to catch up on the arrivals it missed.",
    tags=["arrivals"],
    responses=refusals(),
)
def visits_now() -> VisitsNow:
    _staff()
    return VisitsNow(visits=arrivals_board.in_store(time.time()))


@router.post(
    "/visits/<person_id>/ack",
    summary="I'm on it: this staff member looks after the customer",
    description="Recorded on the visit (the first tap wins; a second assistant gets already_acknowledged naming "
    "the first) and published on the arrivals channel to every tablet.",
    tags=["arrivals"],
    responses=refusals(VisitNotFound, AlreadyAcknowledged, body=True),
)
def acknowledge(person_id: PersonId, body: AcknowledgeRequest) -> Acknowledgement:
    _json_only()
    return arrivals_board.acknowledge(str(person_id), body.visit_id, _staff(), time.time())
