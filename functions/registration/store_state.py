"""The Store screen's AWS side: each camera's detection state where the store-hours machinery records it, the
staff's special days and the manager's override (the two SSM parameters the store-hours function reads), and
the store-hours state machine, which a manager's override starts.

Where a camera's state lives depends on the detection mode:
- FrameSearch: the state machine writes `camera#<camera>` {detection, changed_at, decided_at} to the frame-search
  state table; the frame-search function searches only while it says RUNNING (no item yet counts as RUNNING).
- StreamProcessor: the camera's Rekognition stream processor, `<stack>-<camera>`, is itself the state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from botocore.exceptions import ClientError
from greeter_common.observability import tracer

# Executions a manager starts are named so (the store's schedules name theirs by their trigger): the screen finds
# the latest override request by that prefix.
STAFF_PREFIX = "staff-"


@dataclass(frozen=True)
class CameraState:
    camera: str
    detection: str  # RUNNING, STOPPED; STARTING, STOPPING, FAILED (a processor); UNKNOWN
    changed_at: str | None = None  # when it last changed (RFC 3339, UTC), where that is recorded


@dataclass(frozen=True)
class OverrideRun:
    """The latest override a manager asked for: which, when, and how far the state machine got with it."""

    action: str
    started_at: datetime
    status: str  # RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED


class StoreState:
    def __init__(self, dynamodb, rekognition, ssm, stepfunctions, settings):
        self._dynamodb = dynamodb  # a low-level client: the state machine writes the table with one too
        self._rekognition = rekognition
        self._ssm = ssm
        self._sfn = stepfunctions
        self._settings = settings

    @tracer.capture_method
    def cameras(self) -> list[CameraState]:
        cameras = self._settings.cameras
        if self._settings.detection_mode == "FrameSearch":
            table = self._settings.frame_search_state_table
            keys = [{"pk": {"S": f"camera#{camera}"}} for camera in cameras]
            answer = self._dynamodb.batch_get_item(RequestItems={table: {"Keys": keys, "ConsistentRead": True}})
            items = {item["pk"]["S"]: item for item in answer["Responses"].get(table, [])}
            if answer.get("UnprocessedKeys"):  # throttled: the ClientError path says "busy, retry"
                raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "keys left"}}, "BatchGetItem")
            states = []
            for camera in cameras:
                item = items.get(f"camera#{camera}")
                if item is None:  # no run since the deploy: frame search searches (a fresh stack works at once)
                    states.append(CameraState(camera, "RUNNING"))
                else:
                    states.append(
                        CameraState(camera, item["detection"]["S"], item.get("changed_at", {}).get("S") or None)
                    )
            return states
        return [self._processor(camera) for camera in cameras]

    def _processor(self, camera: str) -> CameraState:
        try:
            described = self._rekognition.describe_stream_processor(Name=self._settings.video_stream_prefix + camera)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            return CameraState(camera, "UNKNOWN")
        changed = described.get("LastUpdateTimestamp")
        return CameraState(camera, described["Status"], changed.isoformat() if changed else None)

    @tracer.capture_method
    def special_days(self) -> str:
        return self._ssm.get_parameter(Name=self._settings.special_days_parameter)["Parameter"]["Value"]

    @tracer.capture_method
    def override(self) -> str:
        return self._ssm.get_parameter(Name=self._settings.override_parameter)["Parameter"]["Value"]

    @tracer.capture_method
    def latest_override_run(self, since: datetime) -> OverrideRun | None:
        """The newest run a manager started since `since`. Runs come newest first, a thousand a page (the most
        Step Functions gives): the schedules start six an hour, so one page is about four days of them and a
        manager's request older than that is still found on a later page."""
        args = {"stateMachineArn": self._settings.store_hours_state_machine, "maxResults": 1000}
        while True:
            page = self._sfn.list_executions(**args)
            for execution in page["executions"]:
                if execution["startDate"] < since:
                    return None
                if execution["name"].startswith(STAFF_PREFIX):
                    action = execution["name"][len(STAFF_PREFIX) :].split("-", 1)[0]
                    return OverrideRun(action, execution["startDate"], execution["status"])
            if not page.get("nextToken"):
                return None
            args["nextToken"] = page["nextToken"]

    @tracer.capture_method
    def start_override(self, name: str, execution_input: str) -> datetime:
        """Start the store-hours state machine with a manager's input; when it started. The same name and input
        again (a retried request) is the same execution, running or finished: Step Functions starts it only once.
        A ClientError ExecutionAlreadyExists: the name was used for a different input."""
        machine = self._settings.store_hours_state_machine
        try:
            return self._sfn.start_execution(stateMachineArn=machine, name=name, input=execution_input)["startDate"]
        except ClientError as error:
            if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise
            taken = error
        # Step Functions takes the same name and input as the same run only while it is RUNNING; a store-hours run
        # finishes in seconds, so a retry usually finds it done. The run with this name says whether it is the same
        # request (its input) and when it started; a different input under the name is another request.
        arn = machine.replace(":stateMachine:", ":execution:", 1) + ":" + name
        described = self._sfn.describe_execution(executionArn=arn)
        if json.loads(described.get("input") or "null") != json.loads(execution_input):
            raise taken
        return described["startDate"]
