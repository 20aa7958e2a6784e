"""The Rekognition fake lives in local/rekognition.py (the local runtime runs it too); tests import it from there."""

from local.rekognition import (  # noqa: F401 - re-exported for the tests
    OPERATIONS,
    FakeRekognition,
    RekognitionError,
    install,
)
