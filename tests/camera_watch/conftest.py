"""Camera-watch fixtures: a stack on moto with its camera-watch function loaded."""

import pytest
from stack import Stack
from watch_kit import CameraWatchStack


@pytest.fixture
def watch_factory(aws, monkeypatch, lambda_context, capsys):
    def deploy(**parameters) -> CameraWatchStack:
        parameters.setdefault("AlertEmails", "staff@example.com")
        parameters.setdefault("Cameras", "entrance,till")
        stack = Stack(parameters)
        # The camera watch, the cameras' alarms and processors, each with whatever it references (the crops
        # bucket, the state table, the ops topic); the customer-alert side of the template is not needed here.
        for logical_id, resource in stack.resources.items():
            silent_alarm = resource["Type"] == "AWS::CloudWatch::Alarm" and "Silent" in logical_id
            if logical_id.startswith("CameraWatch") or logical_id.endswith("StreamProcessor") or silent_alarm:
                stack.deploy_resource(logical_id)
        app = stack.load_function("CameraWatchFunction", monkeypatch)
        return CameraWatchStack(stack, app, lambda_context, capsys)

    return deploy
