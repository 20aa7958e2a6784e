"""Request bodies the API tests share (a plain module: conftest modules are not importable by name)."""

from typing import Any

from helpers import b64

UNSET: Any = object()


def person_body(image: bytes, **fields) -> dict:
    body = {
        "name": "Eileen Collins",
        "notes": "Prefers the quiet fitting room.",
        "contact_email": "eileen@example.com",
        "consent": {
            "given_by": "Eileen Collins",
            "given_at": "2026-01-15T10:30:00+00:00",
            "wording_version": "2026-01",
        },
        "photo": b64(image),
    }
    body.update(fields)
    return {k: v for k, v in body.items() if v is not UNSET}
