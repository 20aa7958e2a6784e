"""What the benchmark and the demo borrow from the test harness (tests/), and the little they add to it.

Both run as `.venv/bin/python -m bench.<name>` from the repository root, outside pytest. This module puts the shared
layer and tests/ on sys.path (as pyproject.toml does for pytest), and loads tests/conftest.py for what it sets
before any AWS client exists (fake credentials, the region, POWERTOOLS_* settings) and for its LambdaContext.
Everything AWS then runs on moto, with the shared Rekognition fake: no account, no network.
"""

import contextlib
import importlib.util
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT / "layers" / "common", ROOT / "tests", ROOT / "pi"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


def _tests_conftest():
    """tests/conftest.py, loaded under its own name (pytest may already hold another module called conftest)."""
    name = "greeter_tests_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / "conftest.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


LambdaContext = _tests_conftest().LambdaContext

# The rest of the harness, re-exported for bench/ (imported after the fake credentials are set).
import boto3  # noqa: E402
from event_source import (  # noqa: E402, F401
    KinesisEventSource,
    QueueEventSource,
    detection_source,
    face,
    face_search_record,
    kinesis_event_record,
    sent_emails,
)
from faults import FaultInjector, ProcessDied  # noqa: E402, F401
from faults import install as install_fault_injector  # noqa: E402, F401
from greeter_camera.detection_settings import DetectionSettings  # noqa: E402, F401
from greeter_camera.faces import crop_face, encode_jpeg, load_face_detector  # noqa: E402, F401
from greeter_camera.uploader import crop_object_key  # noqa: E402, F401
from helpers import emitted_metrics  # noqa: E402, F401
from moto import mock_aws  # noqa: E402
from moto.sns.models import sns_backends  # noqa: E402
from stack import ACCOUNT, REGION, Stack, import_function  # noqa: E402, F401

from local.rekognition import FakeRekognition  # noqa: E402
from local.rekognition import install as install_rekognition  # noqa: E402


@contextlib.contextmanager
def offline_aws() -> Iterator[FakeRekognition]:
    """moto for every AWS service with the shared Rekognition fake plugged in (the tests' `aws` fixture)."""
    fake = FakeRekognition()
    uninstall = install_rekognition(fake)
    try:
        with mock_aws():
            yield fake
    finally:
        uninstall()


def register_person(stack: Stack, person_id: str, name: str, notes: str = "", face_ids: tuple[str, ...] = ()) -> None:
    """A people-table row as the registration API writes it (greeter_common.people.Person)."""
    boto3.resource("dynamodb", region_name=REGION).Table(stack.ref("PeopleTable")).put_item(
        Item={
            "person_id": person_id,
            "name": name,
            "notes": notes,
            "consent": {
                "given_by": name,
                "given_at": "2026-11-01T10:00:00Z",
                "wording_version": "v1",
                "recorded_by": "staff@example.com",
            },
            "face_ids": list(face_ids) or [f"face-{person_id}-0"],
            "photo_keys": [f"people/{person_id}/photo-1.jpg"],
            "created_at": "2026-11-01T10:00:00Z",
            "updated_at": "2026-11-01T10:00:00Z",
        }
    )


def published(stack: Stack, topic: str = "AlertsTopic") -> list[tuple]:
    """moto's live list of what was published on the topic: (message id, message, subject, attributes, group).

    `event_source.sent_emails(stack)` gives the same as dicts; this is the list itself, for counting cheaply
    after each of thousands of invocations.
    """
    return sns_backends[ACCOUNT][REGION].topics[stack.ref(topic)].sent_notifications


@contextlib.contextmanager
def function_output() -> Iterator[io.StringIO]:
    """Collect what the functions write (EMF metrics on stdout, Powertools JSON logs) instead of printing it."""
    from greeter_common.observability import logger

    buffer = io.StringIO()
    handler = logger.registered_handler
    # Swapped without setStream(), which flushes the old stream: under pytest that may be a capture already
    # closed by an earlier test.
    previous, handler.stream = handler.stream, buffer
    try:
        with contextlib.redirect_stdout(buffer):
            yield buffer
    finally:
        handler.stream = previous


def metric_values(output: str, name: str) -> list[float]:
    """Every value of one metric in Powertools' EMF output (`helpers.emitted_metrics` gives their sums)."""
    values: list[float] = []
    for line in output.splitlines():
        if name not in line:
            continue
        try:
            blob = json.loads(line)
        except ValueError:
            continue
        if isinstance(blob, dict) and "_aws" in blob and name in blob:
            value = blob[name]
            values.extend(value if isinstance(value, list) else [value])
    return values
