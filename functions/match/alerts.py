"""The alert email: what staff read, and the links that let them watch the moment."""

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from greeter_common.observability import logger
from greeter_common.people import Person
from sightings import Sighting

_SUBJECT_LIMIT = 100  # SNS: ASCII, under 100 characters, no line breaks
_HLS_MAX_SECONDS = 43_200  # GetHLSStreamingSessionURL's longest session: 12 hours
_CLIP_BEFORE, _CLIP_AFTER = 10, 50  # seconds of video around the moment
# The link is a nicety: a slow Kinesis Video endpoint must cost the email seconds, never the function's timeout.
_QUICK = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "total_max_attempts": 2})


@dataclass(frozen=True)
class Alert:
    subject: str
    body: str
    attributes: dict


def ascii_subject(text: str) -> str:
    """SNS subjects must be printable ASCII: 'José Núñez' becomes 'Jose Nunez'."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    printable = "".join(ch for ch in folded if ch.isprintable())
    return printable if len(printable) < _SUBJECT_LIMIT else printable[: _SUBJECT_LIMIT - 2] + "."


def compose(
    person: Person,
    sighting: Sighting,
    store_name: str,
    time_zone: str,
    cooldown_minutes: int,
    video_url: str | None,
    video_hours: float,
    snapshot_url: str | None,
) -> Alert:
    local = datetime.fromtimestamp(sighting.seen_at, UTC).astimezone(ZoneInfo(time_zone))
    where = f"the {sighting.camera}"
    lines = [
        f"{person.name} is at {where} of {store_name}.",
        "",
        f"Seen:        {local:%H:%M} on {local:%A %d %B %Y} ({time_zone})",
        f"Similarity:  {sighting.similarity:.1f}%",
        f"Camera:      {sighting.camera}",
        "",
        "Notes for staff:",
        *(f"  {line}" for line in (person.notes.strip() or "(none)").splitlines()),
        "",
    ]
    if video_url:
        lines += [
            f"Watch the moment (link valid for {video_hours:g} hours; opens in Safari, VLC or any HLS player):",
            f"  {video_url}",
            "",
        ]
    else:
        lines += ["(No video link: the camera's video for this moment is not available.)", ""]
    if snapshot_url:
        lines += ["The face the camera saw (link valid for 1 hour):", f"  {snapshot_url}", ""]
    lines += [
        f"Greeter stays quiet about {person.name} until they have been out of view for {cooldown_minutes} minutes.",
        f"Person id: {person.person_id}",
    ]
    subject = ascii_subject(f"Greeter: {person.name} is at {where} ({sighting.similarity:.1f}%)")
    attributes = {
        "person_id": {"DataType": "String", "StringValue": person.person_id},
        "camera": {"DataType": "String", "StringValue": sighting.camera},
        "event": {"DataType": "String", "StringValue": "visitor_recognised"},
    }
    return Alert(subject=subject, body="\n".join(lines), attributes=attributes)


class VideoLinks:
    """On-demand HLS sessions around a moment (GetHLSStreamingSessionURL), with endpoints cached per stream."""

    def __init__(self, session, link_hours: float):
        self._session = session
        self._kinesisvideo = session.client("kinesisvideo", config=_QUICK)
        self._archived_media: dict[str, object] = {}
        self.seconds = int(min(link_hours * 3600, _HLS_MAX_SECONDS))

    def _client_for(self, stream_arn: str):
        if stream_arn not in self._archived_media:
            endpoint = self._kinesisvideo.get_data_endpoint(
                StreamARN=stream_arn, APIName="GET_HLS_STREAMING_SESSION_URL"
            )["DataEndpoint"]
            self._archived_media[stream_arn] = self._session.client(
                "kinesis-video-archived-media", endpoint_url=endpoint, config=_QUICK
            )
        return self._archived_media[stream_arn]

    def around(self, stream_arn: str, moment: float) -> str | None:
        """A link to the video around `moment`, or None when there is none (no video, retention, errors)."""
        try:
            return self._client_for(stream_arn).get_hls_streaming_session_url(
                StreamARN=stream_arn,
                PlaybackMode="ON_DEMAND",
                HLSFragmentSelector={
                    "FragmentSelectorType": "PRODUCER_TIMESTAMP",
                    "TimestampRange": {
                        "StartTimestamp": datetime.fromtimestamp(moment - _CLIP_BEFORE, UTC),
                        "EndTimestamp": datetime.fromtimestamp(moment + _CLIP_AFTER, UTC),
                    },
                },
                ContainerFormat="FRAGMENTED_MP4",
                DisplayFragmentTimestamp="ALWAYS",
                Expires=self.seconds,
            )["HLSStreamingSessionURL"]
        except (ClientError, BotoCoreError) as error:
            logger.warning("no video link for the alert", stream_arn=stream_arn, error=str(error))
            return None
