"""The composition root: settings, AWS clients (created once, at cold start) and the services routes use."""

import time
from zoneinfo import ZoneInfo

import boto3
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig
from botocore.config import Config
from collection import FaceCollection
from directory import Directory
from enrolment import Enrolment
from erasure import Erasure
from greeter_common.arrivals import ArrivalPublisher
from greeter_common.settings import load_settings
from greeter_common.visit_history import VisitHistory
from people_store import PeopleNames, PeopleStore
from photo_store import PhotoStore, SnapshotStore
from settings import Settings
from staff_audit import StaffAuditTrail
from store_state import StoreState
from undo import Deadline
from visit_video import VisitVideo

settings = load_settings(Settings)

# A staff member is waiting: fail fast (short timeouts, two attempts with standard backoff) rather than
# hang, so a slow step still leaves time to undo the earlier ones before the function's timeout (28 s).
_AWS = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 2})
# IndexFaces is not idempotent (a retry after a timeout can index the face twice): no automatic retries;
# the caller retries the whole request with the same Idempotency-Key instead.
_NO_RETRIES = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 1})
# A write step starts only if its worst case (two attempts of 7 s plus backoff) and the undo steps fit.
STEP_MS, UNDO_RESERVE_MS = 15_000, 5_000

# One session for every client here: it resolves the region and credentials once, and each client is made from it.
_session = boto3.session.Session()

_collection = FaceCollection(
    _session.client("rekognition", config=_AWS),
    _session.client("rekognition", config=_NO_RETRIES),
    settings.face_collection,
)
# SigV4 and the regional endpoint: presigned photo links must work for a bucket in any region.
_photos = PhotoStore(
    _session.client("s3", config=_AWS.merge(Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))),
    settings.photos_bucket,
)
_dynamodb = _session.resource("dynamodb", config=_AWS)
_people = PeopleStore(_dynamodb, settings.people_table, settings.visits_table, settings.erasure_audit_table)
audit_trail = StaffAuditTrail(_dynamodb, settings.staff_audit_table)

visit_history = VisitHistory(
    _session.resource("dynamodb", config=_AWS).Table(settings.visit_history_table),
    ZoneInfo(settings.store_time_zone),
    retention_days=1,  # only the match function writes visits; the API reads, acknowledges and erases them
)
people_names = PeopleNames(_session.resource("dynamodb", config=_AWS), settings.people_table)

enrolment = Enrolment(_collection, _photos, _people, settings.match_threshold)
_snapshots = (
    SnapshotStore(_session.client("s3", config=_AWS), settings.snapshots_bucket) if settings.snapshots_bucket else None
)
erasure = Erasure(_collection, _photos, _people, visit_history, _snapshots)
directory = Directory(_collection, _photos, _people, settings.match_threshold, settings.photo_link_seconds)

store_state = StoreState(
    _session.client("dynamodb", config=_AWS),
    _session.client("rekognition", config=_AWS),
    _session.client("ssm", config=_AWS),
    _session.client("stepfunctions", config=_AWS),
    settings,
)

# "I'm on it" is told to every tablet on the arrivals channel (best effort: the visit history has it anyway).
arrivals = ArrivalPublisher(settings.arrivals_http_endpoint, _session.region_name, _session.get_credentials())
# A visit's video: a client per camera stream's data endpoint, made when first needed, from the same session.
visit_video = VisitVideo(
    _session.client,
    _AWS,
    settings.video_stream_prefix,
    settings.cameras,
    settings.video_retention_hours,
    time.time,
)

idempotency_store = DynamoDBPersistenceLayer(
    table_name=settings.idempotency_table, boto_config=_AWS, boto3_session=_session
)
# A retried request (same Idempotency-Key header, or the same body when there is none) gets the first
# answer for an hour. Only the new person's or face's id is kept, never personal data; a different body
# under a key already used is refused (payload validation).
idempotency_config = IdempotencyConfig(
    event_key_jmespath="[route, key]", payload_validation_jmespath="body_digest", expires_after_seconds=3600
)


def deadline(remaining_ms) -> Deadline:
    return Deadline(remaining_ms, STEP_MS, UNDO_RESERVE_MS)
