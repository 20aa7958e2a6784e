"""Arrivals on the staff tablets: events published to the stack's AWS AppSync Events API over HTTP.

The tablets subscribe over a WebSocket (Cognito user-pool auth); functions publish with a POST to the API's
HTTP endpoint, `<endpoint>/event`, body `{"channel": ..., "events": [<JSON string>, ...]}` (at most five per
request), signed with the function's IAM role (SigV4, service `appsync`). Publishing is best effort by design:
an arrival on a tablet is a courtesy next to the email, so one short try, no retries, and a failure is logged
(without the person's details) and counted (`ArrivalPublishFailed`), never raised into the caller's batch.

Events on the channel (`/arrivals/store`, namespace `arrivals`), as JSON:
    {"type": "arrival", "visit_id", "person_id", "name", "notes", "camera", "seen_at" (ISO 8601 UTC), "similarity"}
    {"type": "ack", "visit_id", "person_id", "by" (staff email), "at" (ISO 8601 UTC)}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import urllib3
from aws_lambda_powertools.metrics import MetricUnit
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from greeter_common.observability import logger, metrics

NAMESPACE = "arrivals"
CHANNEL = f"/{NAMESPACE}/store"
MAX_EVENTS_PER_REQUEST = 5
# The email must never wait on a tablet: a second to connect, two to answer, then give up.
TIMEOUT = urllib3.Timeout(connect=1.0, read=2.0)


def arrival_event(
    *, visit_id: str, person_id: str, name: str, notes: str, camera: str, seen_at: float, similarity: float
) -> dict:
    """The arrival the match function publishes when it decides to greet someone (its visit's alert id)."""
    return {
        "type": "arrival",
        "visit_id": visit_id,
        "person_id": person_id,
        "name": name,
        "notes": notes,
        "camera": camera,
        "seen_at": datetime.fromtimestamp(seen_at, UTC).isoformat(timespec="seconds"),
        "similarity": round(similarity, 1),
    }


@dataclass
class ArrivalPublisher:
    """Publishes events to one AppSync Events API. `credentials` is a botocore credentials object (the
    function's role); it is frozen at each publish, so rotated role credentials are picked up."""

    http_endpoint: str  # https://<id>.appsync-api.<region>.amazonaws.com/event
    region: str
    credentials: object
    pool: urllib3.PoolManager = field(default_factory=lambda: urllib3.PoolManager(timeout=TIMEOUT, retries=False))

    def signed_request(self, channel: str, events: list[dict]) -> AWSRequest:
        body = json.dumps({"channel": channel, "events": [json.dumps(event, default=str) for event in events]})
        request = AWSRequest(
            method="POST",
            url=self.http_endpoint,
            data=body.encode(),
            headers={"content-type": "application/json", "accept": "application/json"},
        )
        SigV4Auth(self.credentials.get_frozen_credentials(), "appsync", self.region).add_auth(request)
        return request

    def publish(self, events: list[dict], channel: str = CHANNEL) -> bool:
        """Publish; True when AppSync took every event. Never raises."""
        if not self.http_endpoint or not events:
            return False
        delivered = True
        for start in range(0, len(events), MAX_EVENTS_PER_REQUEST):
            delivered &= self._publish_batch(channel, events[start : start + MAX_EVENTS_PER_REQUEST])
        return delivered

    def _publish_batch(self, channel: str, events: list[dict]) -> bool:
        failed = len(events)
        try:
            request = self.signed_request(channel, events)
            response = self.pool.request(
                "POST", request.url, body=request.body, headers=dict(request.headers.items()), retries=False
            )
            if response.status == 200:
                failed = len(json.loads(response.data or b"{}").get("failed") or [])
            else:
                logger.warning("arrival not published", extra={"status": response.status})
        except Exception as error:  # noqa: BLE001 - best effort: nothing may reach the caller
            logger.warning("arrival not published", extra={"error": type(error).__name__})
        if failed:
            metrics.add_metric(name="ArrivalPublishFailed", unit=MetricUnit.Count, value=failed)
        return failed == 0
