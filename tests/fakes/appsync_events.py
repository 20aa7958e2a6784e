"""The AppSync Events stand-in lives in local/appsync_events.py (the local runtime runs it too); tests import it
from there."""

from local.appsync_events import (  # noqa: F401 - re-exported for the tests
    SUBPROTOCOL,
    FakeAppSyncEvents,
    channel_matches,
    sigv4_problem,
)
