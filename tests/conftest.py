"""Fixtures every Greeter test shares: fake AWS credentials, moto, the Rekognition fake and the stack."""

import os
from dataclasses import dataclass

import pytest

# Set before any boto3 client exists: tests never reach AWS, whatever the machine's own configuration.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",  # noqa: S105 - moto's fake credentials
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="eu-west-1",
    AWS_REGION="eu-west-1",
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_DEV="false",
)
os.environ.pop("AWS_PROFILE", None)

from stack import load_template  # noqa: E402

from local.rekognition import FakeRekognition, install  # noqa: E402

# Powertools reads its POWERTOOLS_* settings when the shared layer is first imported, whichever test does
# it: give every test the values template.yaml's Globals give every function.
os.environ.update(
    {
        name: str(value)
        for name, value in load_template()["Globals"]["Function"]["Environment"]["Variables"].items()
        if name.startswith("POWERTOOLS_")
    }
)

from helpers import b64, emitted_metrics  # noqa: E402, F401 - re-exported for convenience
from moto import mock_aws  # noqa: E402
from stack import Stack  # noqa: E402


@pytest.fixture
def aws():
    """moto for every AWS service, with the shared Rekognition fake plugged in."""
    fake = FakeRekognition()
    uninstall = install(fake)
    try:
        with mock_aws():
            yield fake
    finally:
        uninstall()


@pytest.fixture
def rekognition(aws) -> FakeRekognition:
    return aws


@pytest.fixture
def stack_factory(aws):
    """Deploy template.yaml on moto with the given parameters (AlertEmails defaults to one address)."""

    def deploy(**parameters) -> Stack:
        parameters.setdefault("AlertEmails", "staff@example.com")
        return Stack(parameters).deploy()

    return deploy


@pytest.fixture
def stack(stack_factory) -> Stack:
    return stack_factory()


@dataclass
class LambdaContext:
    function_name: str = "greeter-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:greeter-test"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    remaining_ms: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def faults():
    """Real AWS error responses for chosen calls of clients created after this fixture (see faults.py)."""
    from faults import FaultInjector
    from faults import install as install_faults

    injector = FaultInjector()
    uninstall = install_faults(injector)
    yield injector
    uninstall()


@pytest.fixture
def recorder():
    """Records the AWS calls of clients created after this fixture, while a handler runs (see iam.py)."""
    from iam import CallRecorder

    recorder = CallRecorder()
    uninstall = recorder.install()
    yield recorder
    uninstall()


@pytest.fixture
def observed():
    """Every log line and what X-Ray would keep of the traces of the functions watched with
    `observed.watch(app, monkeypatch)`."""
    from fakes.xray import RecordedTraces

    return RecordedTraces()
