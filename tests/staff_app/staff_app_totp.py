"""RFC 6238 codes, as an authenticator app computes them (the tests play the staff member's phone)."""

import base64
import hashlib
import hmac
import struct
import time

STEP_SECONDS = 30
# Cognito (moto) accepts only the current step's code: a code read with less than this left in its step
# could expire before it is typed and checked on a busy machine, so the reader waits for the next step.
MIN_SECONDS_LEFT = 10


def totp(secret: str, at: float | None = None) -> str:
    """The 6-digit code (30 s steps, SHA-1) for a base32 secret; without `at`, one that stays valid for a while."""
    if at is None:
        left = STEP_SECONDS - time.time() % STEP_SECONDS
        if left < MIN_SECONDS_LEFT:
            time.sleep(left + 0.05)
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"
