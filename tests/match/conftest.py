"""The match pipeline on moto: template resources, the real handler, and Lambda's poller on the mode's event
source: the detection queue (FrameSearch, `pipeline`) or the detection stream (StreamProcessor,
`stream_pipeline`); `either_pipeline` runs a test on both."""

import json
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from event_source import KinesisEventSource, QueueEventSource, detection_source, face, face_search_record, sent_emails
from stack import Stack

T0 = 1_795_000_000.0  # 2026-11-18 11:06:40 UTC: a Wednesday morning


class Clock:
    def __init__(self, start: float = T0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Pipeline:
    stack: Stack
    app: Any
    source: KinesisEventSource | QueueEventSource
    clock: Clock
    monkeypatch: Any
    _stream_arns: dict = field(default_factory=dict)

    @property
    def on_stream(self) -> bool:
        """StreamProcessor mode: records come from the Kinesis stream (else from the SQS queue)."""
        return isinstance(self.source, KinesisEventSource)

    def recycle(self) -> None:
        """Lambda replaces the execution environment: the next invocation starts cold, remembering nothing."""
        self.app = self.stack.load_function("MatchFunction", self.monkeypatch)
        self.monkeypatch.setattr(self.app, "now", self.clock)
        self.source.handler = self.app.lambda_handler

    def register(self, person_id: str, name: str, notes: str = "") -> None:
        boto3.resource("dynamodb").Table(self.stack.ref("PeopleTable")).put_item(
            Item={
                "person_id": person_id,
                "name": name,
                "notes": notes,
                "consent": {"given_by": name, "given_at": "2026-11-01T10:00:00Z", "wording_version": "v1"},
                "face_ids": [f"face-{person_id}-0"],
                "photo_keys": [f"people/{person_id}/photo-1.jpg"],
                "created_at": "2026-11-01T10:00:00Z",
                "updated_at": "2026-11-01T10:00:00Z",
            }
        )

    def stream_arn(self, camera: str = "entrance") -> str:
        if camera not in self._stream_arns:
            stream = boto3.client("kinesisvideo").describe_stream(StreamName=f"{self.stack.name}-{camera}")
            self._stream_arns[camera] = stream["StreamInfo"]["StreamARN"]
        return self._stream_arns[camera]

    def frame(
        self, *matches_per_face, camera: str = "entrance", at: float | None = None, camera_clock: float = 0.0
    ) -> dict:
        """A record for one frame filmed `at` (default now); each argument is one face's matches [(person id,
        similarity)]. `camera_clock`: seconds the camera's clock is ahead of the true time (negative: behind)."""
        faces = [face(list(matches), left=0.1 + 0.2 * i) for i, matches in enumerate(matches_per_face)]
        at = self.clock() if at is None else at
        return face_search_record(self.stream_arn(camera), at + camera_clock, faces, server_timestamp=at + 0.3)

    def put(self, document, camera: str = "entrance") -> None:
        self.source.put(document, partition_key=camera)

    def visit(
        self, person_id: str, seconds: float, fps: int = 5, camera: str = "entrance", camera_clock: float = 0.0
    ) -> None:
        """`person_id` in view for `seconds`, delivered batch by batch as Lambda would (1 s windows)."""
        for _ in range(int(seconds)):
            for _ in range(fps):
                self.put(self.frame([(person_id, 97.2)], camera=camera, camera_clock=camera_clock), camera=camera)
                self.clock.advance(1 / fps)
            self.source.drain()

    def event(self, *documents: dict | list | bytes, camera: str = "entrance", shard: int = 0) -> dict:
        """The event Lambda would hand the function, to invoke the handler directly: one record per document
        (bytes kept as is), arrived now; `shard` tells apart two concurrent invocations' records."""
        data = [d if isinstance(d, bytes) else json.dumps(d).encode() for d in documents]
        return self.source.event(data, self.clock(), partition_key=camera, shard=shard)

    def maria_at_two_cameras_at_once(self) -> list[dict]:
        """One frame of Maria at the entrance on shard 0 and one at the till on shard 1, as two invocations."""
        return [
            self.event(self.frame([("maria", 97.0)], camera=camera), camera=camera, shard=shard)
            for shard, camera in enumerate(("entrance", "till"))
        ]

    def emails(self) -> list[dict]:
        return sent_emails(self.stack)


def _start(stack: Stack, monkeypatch, lambda_context, clock: Clock) -> Pipeline:
    app = stack.load_function("MatchFunction", monkeypatch)
    monkeypatch.setattr(app, "now", clock)
    source = detection_source(stack, app.lambda_handler, lambda_context, clock=clock)
    return Pipeline(stack, app, source, clock, monkeypatch)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pipeline_factory(stack_factory, monkeypatch, lambda_context, clock):
    def start(**parameters) -> Pipeline:
        return _start(stack_factory(**parameters), monkeypatch, lambda_context, clock)

    return start


_STORE = {"StoreName": "Casa Lisboa", "StoreTimeZone": "Europe/Lisbon", "Cameras": "entrance,till"}


@pytest.fixture
def pipeline(pipeline_factory) -> Pipeline:
    """FrameSearch mode, the default: records reach the match function through the detection queue."""
    return pipeline_factory(**_STORE)


@pytest.fixture
def stream_pipeline(pipeline_factory) -> Pipeline:
    """StreamProcessor mode: records reach the match function through the detection stream."""
    return pipeline_factory(**_STORE, DetectionMode="StreamProcessor")


@pytest.fixture(params=["FrameSearch", "StreamProcessor"])
def either_pipeline(request, pipeline_factory) -> Pipeline:
    return pipeline_factory(**_STORE, DetectionMode=request.param)


@pytest.fixture
def second_container(pipeline, monkeypatch, lambda_context):
    """The same function in another execution environment (another concurrent invocation)."""
    return _start(pipeline.stack, monkeypatch, lambda_context, pipeline.clock)


@pytest.fixture
def either_second_container(either_pipeline, monkeypatch, lambda_context):
    return _start(either_pipeline.stack, monkeypatch, lambda_context, either_pipeline.clock)
