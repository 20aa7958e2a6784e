"""Regenerate the registration API's OpenAPI description from the code (routes and Pydantic models).

    .venv/bin/python tools/openapi.py          # writes functions/registration/openapi.json

tests/api/test_openapi.py fails when the file and the code disagree.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTION = ROOT / "functions" / "registration"
OPENAPI = FUNCTION / "openapi.json"


def main() -> None:
    # The function reads its settings at import; the document does not depend on them.
    tables = (
        "PEOPLE_TABLE",
        "VISITS_TABLE",
        "VISIT_HISTORY_TABLE",
        "ERASURE_AUDIT_TABLE",
        "STAFF_AUDIT_TABLE",
        "IDEMPOTENCY_TABLE",
    )
    for name in (*tables, "PHOTOS_BUCKET"):
        os.environ.setdefault(name, "unused")
    os.environ.setdefault("STORE_TIME_ZONE", "Europe/London")
    os.environ.setdefault("ALERT_COOLDOWN_MINUTES", "30")
    os.environ.setdefault("FACE_COLLECTION", "unused")
    os.environ.setdefault("MATCH_THRESHOLD", "85")
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    for name in ("SPECIAL_DAYS_PARAMETER", "OVERRIDE_PARAMETER", "STORE_HOURS_STATE_MACHINE", "VIDEO_STREAM_PREFIX"):
        os.environ.setdefault(name, "unused")
    os.environ.setdefault("CAMERAS", "entrance")
    os.environ.setdefault("DETECTION_MODE", "FrameSearch")
    os.environ.setdefault("VIDEO_RETENTION_HOURS", "24")
    os.environ.setdefault("WEEKLY_HOURS", '{"mon": "closed"}')
    sys.path[:0] = [str(FUNCTION), str(ROOT / "layers" / "common")]
    import app  # noqa: PLC0415 - needs the paths above

    OPENAPI.write_text(app.openapi_document() + "\n")
    print(f"wrote {OPENAPI.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
