"""Greeter's camera producer: one Raspberry Pi, one camera, one Kinesis video stream.

`config` reads and checks /etc/greeter/camera.env, `pipeline` turns it into a GStreamer pipeline,
`runner` plays that pipeline (and feeds the frame-search detector), `supervisor` restarts it with
backoff, `health` says in plain words what is happening, and `service` wires them together.
"""

DEFAULT_CONFIG_PATH = "/etc/greeter/camera.env"
