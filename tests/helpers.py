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


# A person as distinctive as it gets, to find in logs and traces: any of these there is a leak.
PERSONAL_DATA = {
    "name": "Zephyrine Quillfeather-Abernathy",
    "notes": "Prefers the mauve cashmere, allergic to hazelnuts",
    "contact_email": "zephyrine.quillfeather@example.org",
}


def personal_data_in(text: str, *extra: str) -> list[str]:
    """Which of PERSONAL_DATA's values (and the extra ones, such as face ids) occur in `text`, whole or as the
    distinctive parts a message might quote (a surname, an email's local part)."""
    values = [*PERSONAL_DATA.values(), *extra]
    fragments = {v for v in values} | {"Quillfeather", "zephyrine.quillfeather", "hazelnuts"}
    return sorted(fragment for fragment in fragments if fragment and fragment.lower() in text.lower())


def email_time(moment: float, time_zone: str) -> str:
    """How the alert email gives a moment: 'Wednesday 18 November, 9:05 (Lisbon time)'."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    local = datetime.fromtimestamp(moment, UTC).astimezone(ZoneInfo(time_zone))
    return f"{local:%A} {local.day} {local:%B}, {local.hour}:{local:%M} ({time_zone.split('/')[-1]} time)"
