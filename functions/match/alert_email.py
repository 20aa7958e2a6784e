"""The alert email: what staff read. Pure text, no AWS: composed before a visit is claimed, so nothing about
the wording can fail once the visit is taken."""

import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from greeter_common.people import Person
from greeter_common.visit_history import iso
from sightings import Sighting

_SUBJECT_LIMIT = 100  # SNS: ASCII, under 100 characters, no line breaks


@dataclass(frozen=True)
class EmailSettings:
    store_name: str
    time_zone: str
    cooldown_minutes: int
    staff_app_url: str  # https://<the staff app's CloudFront domain>


def visit_page(staff_app_url: str, person_id: str, first_seen: float) -> str:
    """The staff app's page of one visit (the visit history's key): the video of the moment plays there, fetched
    fresh for a signed-in assistant, so no playable link sits in a mailbox and none expires before it is read."""
    return f"{staff_app_url.rstrip('/')}/#/people/{quote(person_id, safe='')}/visits/{quote(iso(first_seen), safe=':')}"


@dataclass(frozen=True)
class Alert:
    subject: str
    about: str  # who, where, when, notes: everything above the links
    footer: str  # the cooldown and the person id: everything below them
    attributes: dict
    visit_url: str  # the visit's page in the staff app
    snapshot_url: str | None = None

    def with_snapshot(self, snapshot_url: str | None) -> "Alert":
        return replace(self, snapshot_url=snapshot_url)

    @property
    def message(self) -> str:
        # The link on a line of its own: mail programs would take trailing punctuation into it.
        links = ["Watch the moment in the staff app; you sign in first:", f"  {self.visit_url}", ""]
        if self.snapshot_url:
            links += ["The face the camera saw (link valid for 1 hour):", f"  {self.snapshot_url}", ""]
        return "\n".join([self.about, *links, self.footer])


def ascii_subject(text: str) -> str:
    """SNS subjects must be printable ASCII: 'José Núñez' becomes 'Jose Nunez'."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    printable = "".join(ch for ch in folded if ch.isprintable())
    return printable if len(printable) < _SUBJECT_LIMIT else printable[: _SUBJECT_LIMIT - 2] + "."


def local_time(moment: float, time_zone: str) -> str:
    """'Tuesday 1 December, 9:05 (Lisbon time)': how a person says it, in the store's time zone."""
    zone = ZoneInfo(time_zone)
    local = datetime.fromtimestamp(moment, UTC).astimezone(zone)
    return f"{local:%A} {local.day} {local:%B}, {local.hour}:{local:%M} ({zone_label(time_zone, local)})"


def zone_label(time_zone: str, local: datetime) -> str:
    """'Europe/Lisbon' -> 'Lisbon time', 'America/New_York' -> 'New York time'; UTC and Etc/* zones by abbreviation."""
    area, _, place = time_zone.rpartition("/")
    if not area or area == "Etc":
        return local.tzname() or time_zone
    return f"{place.replace('_', ' ')} time"


def compose(person: Person, sighting: Sighting, settings: EmailSettings) -> Alert:
    where = f"the {sighting.camera}"
    about = [
        f"{person.name} is at {where} of {settings.store_name}.",
        "",
        f"Seen:        {local_time(sighting.seen_at, settings.time_zone)}",
        f"Similarity:  {sighting.similarity:.1f}%",
        f"Camera:      {sighting.camera}",
        "",
        "Notes for staff:",
        *(f"  {line}" for line in (person.notes.strip() or "(none)").splitlines()),
        "",
    ]
    footer = [
        f"Greeter stays quiet about {person.name} until they have been out of view for "
        f"{settings.cooldown_minutes} minutes.",
        f"Person id: {person.person_id}",
    ]
    return Alert(
        subject=ascii_subject(f"Greeter: {person.name} is at {where} ({sighting.similarity:.1f}%)"),
        about="\n".join(about),
        footer="\n".join(footer),
        attributes={
            "person_id": {"DataType": "String", "StringValue": person.person_id},
            "camera": {"DataType": "String", "StringValue": sighting.camera},
            "event": {"DataType": "String", "StringValue": "visitor_recognised"},
        },
        visit_url=visit_page(settings.staff_app_url, person.person_id, sighting.seen_at),
    )
