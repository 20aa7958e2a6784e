"""Small helpers tests import directly (conftest modules are not importable by name)."""

import base64
import json


def emf_blobs(captured_stdout: str) -> list[dict]:
    """Every metrics document Powertools flushed (Embedded Metric Format lines on stdout)."""
    blobs = []
    for line in captured_stdout.splitlines():
        try:
            blob = json.loads(line)
        except ValueError:
            continue
        if isinstance(blob, dict) and "_aws" in blob:
            blobs.append(blob)
    return blobs


def emitted_metrics(captured_stdout: str) -> dict[str, float]:
    """Sum of every metric Powertools flushed, by metric name."""
    totals: dict[str, float] = {}
    for blob in emf_blobs(captured_stdout):
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                values = blob[metric["Name"]]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + sum(
                    values if isinstance(values, list) else [values]
                )
    return totals


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def email_time(moment: float, time_zone: str) -> str:
    """How the alert email gives a moment: 'Wednesday 18 November, 9:05 (Lisbon time)'."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    local = datetime.fromtimestamp(moment, UTC).astimezone(ZoneInfo(time_zone))
    return f"{local:%A} {local.day} {local:%B}, {local.hour}:{local:%M} ({time_zone.split('/')[-1]} time)"
