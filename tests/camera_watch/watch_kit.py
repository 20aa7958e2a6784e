"""A Greeter stack on moto with its camera-watch function, cameras that beat (the camera's own heartbeat code)
or stream (Kinesis Video's metric), the store opened and closed as the store-hours state machine does, and
CloudWatch's part (EMF metrics, alarm evaluation) played by tests/fakes/cloudwatch.py."""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import time_machine
from fakes.cloudwatch import evaluate_alarm, publish_emf
from greeter_camera.heartbeat import HeartbeatSender  # the camera's own code
from helpers import emf_blobs

EVENT = json.loads((Path(__file__).resolve().parents[2] / "events" / "camera-watch-every-minute.json").read_text())
# A Tuesday morning, store time: opening hours by default are 09:00-18:00.
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@dataclass
class CameraWatchStack:
    stack: Any
    app: Any
    context: Any
    capsys: Any
    runs: list[dict] = field(default_factory=list)

    def stream(self, camera: str) -> str:
        return f"{self.stack.name}-{camera}"

    def heartbeat(self, camera: str, at: datetime, *, last_frame_age_s: float | None = 0.5, clock_ahead_s: float = 0):
        """The camera's heartbeat code sends one at `at` (the camera's clock may run ahead)."""
        status = {"state": "streaming", "summary": "Streaming.", "restarts": 0, "crops_uploaded": 0}
        with time_machine.travel(at, tick=False):
            now = at.timestamp() + clock_ahead_s
            status["last_frame_at"] = None if last_frame_age_s is None else now - last_frame_age_s
            sender = HeartbeatSender(
                s3_client=boto3.client("s3"),
                bucket=self.stack.ref("CropsBucket"),
                stream_name=self.stream(camera),
                interval_s=60,
                status=lambda: status,
                wallclock=lambda: now,
            )
            assert sender.beat()

    def video(self, camera: str, at: datetime, frames: int = 1800) -> None:
        """Kinesis Video's PutMedia.IncomingFrames for the minute starting at `at` (what KVS reports itself)."""
        boto3.client("cloudwatch").put_metric_data(
            Namespace="AWS/KinesisVideo",
            MetricData=[
                {
                    "MetricName": "PutMedia.IncomingFrames",
                    "Dimensions": [{"Name": "StreamName", "Value": self.stream(camera)}],
                    "Timestamp": at,
                    "Value": frames,
                    "Unit": "Count",
                }
            ],
        )

    def close_store(self) -> None:
        """As the store-hours state machine's SetFrameSearchDetection does at closing."""
        self._detection("STOPPED")

    def open_store(self) -> None:
        self._detection("RUNNING")

    def _detection(self, wanted: str) -> None:
        for camera in self.cameras:
            if self.stack.parameters["DetectionMode"] == "FrameSearch":
                boto3.client("dynamodb").put_item(
                    TableName=self.stack.ref("FrameSearchStateTable"),
                    Item={"pk": {"S": f"camera#{camera}"}, "detection": {"S": wanted}},
                )
            else:
                rekognition = boto3.client("rekognition")
                name = self.stream(camera)
                if wanted == "RUNNING":
                    rekognition.start_stream_processor(Name=name)
                else:
                    rekognition.stop_stream_processor(Name=name)

    @property
    def cameras(self) -> list[str]:
        return list(self.stack.parameters["Cameras"])

    def run(self, at: datetime) -> dict:
        """The schedule fires at `at`: the function runs, its metrics reach CloudWatch."""
        self.capsys.readouterr()
        with time_machine.travel(at, tick=False):
            result = self.app.lambda_handler({**EVENT, "time": at.strftime("%Y-%m-%dT%H:%M:%SZ")}, self.context)
        output = self.capsys.readouterr().out
        publish_emf(boto3.client("cloudwatch"), output)
        self.runs.append({"at": at, "result": result, "metrics": camera_metrics(output)})
        return result

    def alarm_state(self, alarm_name: str, at: datetime) -> str:
        return evaluate_alarm(boto3.client("cloudwatch"), alarm_name, at)


def camera_metrics(output: str) -> dict[tuple[str, str], float]:
    """(metric, camera) -> value of every per-camera metric the function emitted."""
    found = {}
    for blob in emf_blobs(output):
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                found[(metric["Name"], blob.get("camera"))] = value[0] if isinstance(value, list) else value
    return found
