"""A visit's video, on demand: a fresh HLS session URL per camera that saw the visit, from that camera's Kinesis
Video stream, around the visit (first sighting - 10 s ... last sighting + 10 s, at most MAX_CLIP_SECONDS).

Asked for when a staff member opens the visit's page, never per frame or per alert: a link made at alert time
would expire before anyone watched it. Times are AWS's (SERVER_TIMESTAMP), as the visit history's are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.exceptions import ClientError
from greeter_common.observability import tracer

BEFORE, AFTER = 10, 10  # seconds of video around the visit
MAX_CLIP_SECONDS = 3600  # a long visit plays its first hour
# An ON_DEMAND playlist lists 1,000 fragments unless told more (at most 5,000): 33 minutes of 2 s fragments. The
# camera starts a fragment at each key frame, every 1-10 s (GREETER_KEYFRAME_INTERVAL_S), so the whole capped clip
# at the shortest fragments, plus the one the range starts inside, must fit.
SHORTEST_FRAGMENT_SECONDS = 1
PLAYLIST_FRAGMENTS = MAX_CLIP_SECONDS // SHORTEST_FRAGMENT_SECONDS + 1
LINK_SECONDS = 3600  # how long the link plays: long enough to watch it now, short enough not to be passed around


@dataclass(frozen=True)
class Clip:
    camera: str
    url: str | None = None
    expires_at: float | None = None
    # A plain sentence when there is no video to play.
    unavailable: str | None = None


class VisitVideo:
    def __init__(self, client, config, stream_prefix: str, cameras: list[str], retention_hours: int, clock):
        """`client` makes boto3 clients (a session's client): one for Kinesis Video, one per stream's data endpoint."""
        self._client = client
        self._config = config
        self._kinesisvideo = client("kinesisvideo", config=config)
        self._archived_media: dict[str, object] = {}
        self._prefix = stream_prefix
        self._cameras = set(cameras)
        self._retention_seconds = retention_hours * 3600
        self._clock = clock

    def _client_for(self, stream: str):
        # Each stream has its own data endpoint; a warm container asks once per stream.
        if stream not in self._archived_media:
            endpoint = self._kinesisvideo.get_data_endpoint(StreamName=stream, APIName="GET_HLS_STREAMING_SESSION_URL")
            self._archived_media[stream] = self._client(
                "kinesis-video-archived-media", endpoint_url=endpoint["DataEndpoint"], config=self._config
            )
        return self._archived_media[stream]

    @tracer.capture_method
    def clips(self, first_seen: float, last_seen: float, cameras: tuple[str, ...]) -> list[Clip]:
        return [self._clip(camera, first_seen, last_seen) for camera in cameras]

    def _clip(self, camera: str, first_seen: float, last_seen: float) -> Clip:
        if camera not in self._cameras:
            return Clip(camera, unavailable=f"The camera “{camera}” is no longer one of this store's cameras.")
        now = self._clock()
        start = first_seen - BEFORE
        end = min(last_seen + AFTER, start + MAX_CLIP_SECONDS)
        hours = self._retention_seconds // 3600
        if end < now - self._retention_seconds:
            return Clip(camera, unavailable=f"The video has expired: the cameras keep video for {hours} hours.")
        start = max(start, now - self._retention_seconds)
        stream = self._prefix + camera
        try:
            url = self._client_for(stream).get_hls_streaming_session_url(
                StreamName=stream,
                PlaybackMode="ON_DEMAND",
                HLSFragmentSelector={
                    "FragmentSelectorType": "SERVER_TIMESTAMP",
                    "TimestampRange": {
                        "StartTimestamp": datetime.fromtimestamp(start, UTC),
                        "EndTimestamp": datetime.fromtimestamp(end, UTC),
                    },
                },
                ContainerFormat="FRAGMENTED_MP4",
                MaxMediaPlaylistFragmentResults=PLAYLIST_FRAGMENTS,
                DisplayFragmentTimestamp="ALWAYS",
                Expires=LINK_SECONDS,
            )["HLSStreamingSessionURL"]
        except ClientError as error:
            # Kinesis Video answers ResourceNotFoundException when the stream holds no fragment in the range.
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            return Clip(camera, unavailable="No video of this visit: the camera was not streaming then.")
        return Clip(camera, url=url, expires_at=now + LINK_SECONDS)
