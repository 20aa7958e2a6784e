"""A seeded fuzz of the record decoder: whatever a record holds, on the detection stream (base64 data) or the
detection queue (a message body), it becomes a well-typed frame or a counted rejection; nothing else ever
leaves the decoder, and nothing a fuzzed batch holds fails the handler."""

import base64
import contextlib
import copy
import importlib
import json
import math
import random

import pytest
from event_source import face, face_search_record
from stack import ROOT

SEED = 20261201
RECORDS = 3000
NOW = 1_795_000_000.0
ARN = "arn:aws:kinesisvideo:eu-west-1:123456789012:stream/fuzz-entrance/1598784211076"
STRANGE_VALUES = [
    None,
    True,
    False,
    "97",
    "",
    "x" * 5000,
    0,
    -1,
    10**30,
    1e308,
    -1e308,
    [],
    {},
    [[[[]]]],
    {"Similarity": 97},
    "arn:aws:kinesisvideo:eu-west-1:123456789012:stream/fuzz-entrance/1",
]
RAW_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1" * 5000, "0.0000001e-400"]


@pytest.fixture
def sightings(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "functions" / "match"))
    return importlib.import_module("sightings")


@pytest.fixture
def deliveries(sightings):
    return importlib.import_module("deliveries")


def _as_delivered(deliveries, data: object, arrival: object) -> list[tuple[object, dict]]:
    """The fuzzed record as the stream hands it over (base64 data) and as the queue does (the body's text)."""
    stream = (deliveries.StreamRecords, {"kinesis": {"data": data, "approximateArrivalTimestamp": arrival}})
    body = data
    if isinstance(data, str):
        with contextlib.suppress(ValueError):
            body = base64.b64decode(data, validate=True).decode("utf-8", "surrogatepass")
    sent = {"SentTimestamp": str(arrival * 1000)} if isinstance(arrival, float) and math.isfinite(arrival) else {}
    queue = (deliveries.QueueRecords, {"body": body, "attributes": {**sent, "ApproximateReceiveCount": arrival}})
    return [stream, queue]


def _valid(rng: random.Random) -> dict:
    faces = [
        face([(rng.choice(["maria", "joao", None]), rng.uniform(70, 100)) for _ in range(rng.randint(0, 3))])
        for _ in range(rng.randint(0, 3))
    ]
    return face_search_record(ARN, NOW - rng.uniform(0, 3), faces)


def _leaves(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*path, index))
    yield path


def _set(document, path, value):
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


def _mutated(rng: random.Random) -> object:
    """One fuzzed record's base64 data (or something that is not even that)."""
    document = _valid(rng)
    kind = rng.randrange(9)
    if kind == 0:  # a strange value anywhere
        paths = [p for p in _leaves(document) if p]
        for _ in range(rng.randint(1, 3)):
            _set(document, rng.choice(paths), copy.deepcopy(rng.choice(STRANGE_VALUES)))
            paths = [p for p in _leaves(document) if p]
    elif kind == 1:  # a field missing
        paths = [p for p in _leaves(document) if p and isinstance(p[-1], str)]
        path = rng.choice(paths)
        target = document
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]
    elif kind == 2:  # a number JSON allows Python to read but no record holds
        text = json.dumps(document)
        marker = rng.choice(['"ServerTimestamp": ', '"ProducerTimestamp": ', '"Similarity": ', '"Confidence": '])
        if marker in text:
            text = text.replace(marker, marker + rng.choice(RAW_NUMBERS) + ', "was": ', 1)
        return base64.b64encode(text.encode()).decode()
    elif kind == 3:  # nested deep
        depth = rng.choice([17, 100, 5000, 50_000])
        opening, closing = rng.choice([("[", "]"), ('{"a":', "}")])
        text = '{"InputInformation": ' + opening * depth + "1" + closing * depth + "}"
        return base64.b64encode(text.encode()).decode()
    elif kind == 4:  # truncated or bytes flipped
        data = bytearray(json.dumps(document).encode())
        if rng.random() < 0.5:
            data = data[: rng.randrange(len(data))]
        else:
            for _ in range(rng.randint(1, 5)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        return base64.b64encode(bytes(data)).decode()
    elif kind == 5:  # not base64, or not even a string
        return rng.choice(["%%%", "abc", "", None, 42, [], {"data": "x"}, "=" * 8, "QQ=" * 3])
    elif kind == 6:  # random bytes
        return base64.b64encode(rng.randbytes(rng.randrange(200))).decode()
    elif kind == 7:  # too large for a Kinesis record
        return "A" * (1_400_004 + rng.randrange(8) * 4)
    return base64.b64encode(json.dumps(document).encode()).decode()  # valid


def test_every_fuzzed_record_is_a_frame_or_a_rejection(sightings, deliveries):
    rng = random.Random(SEED)
    cameras = sightings.Cameras("arn:aws:kinesisvideo:eu-west-1:123456789012:stream/fuzz-", frozenset({"entrance"}))
    outcomes = {"frame": 0, "rejected": 0}
    for _ in range(RECORDS):
        data = _mutated(rng)
        arrival = rng.choice([NOW, NOW, NOW, None, "soon", math.nan, True, 1e308, -1.0])
        for source, raw in _as_delivered(deliveries, data, arrival):
            try:
                frame = sightings.decode(source.payload(raw), source.arrived_at(raw), 85.0, cameras, now=NOW)
            except sightings.Rejected as rejected:
                outcomes["rejected"] += 1
                assert str(rejected)
                continue
            outcomes["frame"] += 1
            assert math.isfinite(frame.seen_at) and math.isfinite(frame.camera_clock_offset)
            assert frame.camera == "entrance"
            for sighting in frame.sightings:
                assert isinstance(sighting.person_id, str) and sighting.person_id
                assert 85.0 <= sighting.similarity <= 100.0
                assert sighting.seen_at == frame.seen_at
    assert outcomes["frame"] > RECORDS / 5 and outcomes["rejected"] > RECORDS  # both paths exercised


def test_a_batch_of_fuzzed_records_never_fails_the_handler(either_pipeline):
    pipeline = either_pipeline
    pipeline.register("maria", "Maria Silva")
    rng = random.Random(SEED + 1)
    ours = pipeline.stream_arn("entrance")
    for _ in range(3):
        documents = []
        for _ in range(100):
            data = _mutated(rng)
            if isinstance(data, str) and len(data) < 100_000:
                try:
                    data = base64.b64decode(data, validate=True).replace(ARN.encode(), ours.encode())
                except ValueError:
                    data = data.encode()
            else:
                data = b"not base64 at all %%%"
            documents.append(data)
        event = pipeline.event(*documents)
        assert pipeline.app.lambda_handler(event, pipeline.source.context) == {"batchItemFailures": []}
