"""Is this a photo Rekognition can use? Format, size and integrity checks, before anything is stored or sent.

Limits from "Guidelines and quotas in Amazon Rekognition"
(https://docs.aws.amazon.com/rekognition/latest/dg/limits.html): images passed as bytes are at most
5 MB, JPEG or PNG, and at least 80 pixels on each side.

The photo reaches the function base64-encoded inside API Gateway's event, and a synchronous Lambda request is at
most 6 MB ("Lambda quotas", https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): base64 makes
4 bytes of every 3, and the rest of the event (headers twice, the token's claims, the other fields) needs room,
so the largest photo that arrives at all is MAX_PHOTO_BYTES, below Rekognition's 5 MB.
"""

import io
from dataclasses import dataclass

from errors import ImageTooLarge, LowQuality, NotAnImage, TruncatedImage
from PIL import Image, UnidentifiedImageError

LAMBDA_REQUEST_BYTES = 6 * 1024 * 1024
EVENT_ALLOWANCE_BYTES = 64 * 1024
MAX_PHOTO_BYTES = (LAMBDA_REQUEST_BYTES - EVENT_ALLOWANCE_BYTES) // 4 * 3  # 4,669,440 bytes (4.45 MiB)
MIN_SIDE_PIXELS = 80
# Decoding cost guard (a small file can still decode to a huge bitmap): 50 megapixels is above any phone camera.
MAX_PIXELS = 50_000_000

_FORMATS = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG"}


@dataclass(frozen=True)
class CheckedPhoto:
    data: bytes
    format: str  # JPEG | PNG
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return "image/jpeg" if self.format == "JPEG" else "image/png"

    @property
    def extension(self) -> str:
        return "jpg" if self.format == "JPEG" else "png"


def check_photo(data: bytes) -> CheckedPhoto:
    """The photo, if it is a whole JPEG or PNG within Rekognition's limits; raises the matching ApiError otherwise."""
    if len(data) > MAX_PHOTO_BYTES:
        raise ImageTooLarge(f"the photo is {len(data):,} bytes; the limit is {MAX_PHOTO_BYTES:,} (4.45 MiB)")
    expected = next((name for magic, name in _FORMATS.items() if data.startswith(magic)), None)
    if expected is None:
        raise NotAnImage("the photo is not a JPEG or PNG file")
    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, ValueError):
        raise TruncatedImage(f"the {expected} file is damaged: its header cannot be read") from None
    if image.format != expected:
        raise NotAnImage(f"the file starts like a {expected} but is a {image.format}")
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageTooLarge(f"the photo is {width}x{height} pixels; the limit is {MAX_PIXELS:,} pixels")
    if min(width, height) < MIN_SIDE_PIXELS:
        raise LowQuality(
            f"the photo is {width}x{height} pixels; Rekognition needs at least 80 on each side",
            reasons=["image_too_small"],
        )
    try:
        image.load()  # decodes every pixel: a truncated or corrupt file fails here
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise TruncatedImage(f"the {expected} file is truncated or corrupt: it does not decode completely") from None
    return CheckedPhoto(data, expected, width, height)
