"""Camera settings the camera tests share (a plain module: conftest modules are not importable by name)."""

from pathlib import Path

PI_DIR = Path(__file__).resolve().parents[2] / "pi"

VALID_IOT = {
    "GREETER_STREAM_NAME": "greeter-entrance",
    "AWS_REGION": "eu-west-1",
    "GREETER_CREDENTIALS": "iot-certificate",
    "GREETER_IOT_CREDENTIALS_ENDPOINT": "c1abcdefghijkl.credentials.iot.eu-west-1.amazonaws.com",
    "GREETER_IOT_ROLE_ALIAS": "greeter-camera",
}
ACCESS_KEYS = {
    "GREETER_CREDENTIALS": "access-keys",
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}
FRAME_SEARCH = {"GREETER_DETECTION": "frame-search", "GREETER_CROPS_BUCKET": "greeter-crops-123456789012"}


def settings_with(**settings: str) -> dict[str, str]:
    """VALID_IOT with the given settings changed; with GREETER_CREDENTIALS=access-keys the IoT settings go (a camera
    has one identity: both filled in is a configuration error)."""
    base = dict(VALID_IOT)
    if settings.get("GREETER_CREDENTIALS") == "access-keys":
        base = {k: v for k, v in base.items() if not k.startswith("GREETER_IOT_")}
    return {**base, **settings}
