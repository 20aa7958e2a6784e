"""Every call the store-hours state machine makes is allowed by its Policies in template.yaml, in each
detection mode, and the other mode's resources are not granted (the table or the processors don't exist).

The calls come from the ASL file's Task states (with the template's DefinitionSubstitutions applied);
the policies are the state machine's inline statements, SAM's policy templates (expanded from
samtranslator's own definitions) and each camera's policy attached to its role (tests/iam.py). A permission
missing from the template fails here, not in a store.
"""

import re
from fnmatch import fnmatchcase

import pytest
from iam import function_policy
from stack import ACCOUNT, REGION, ROOT, Stack

ASL_FILE = ROOT / "statemachines" / "store_hours.asl.json"


policy_statements = function_policy


def allowed(statements: list[dict], action: str, resource: str) -> bool:
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if (
            statement["Effect"] == "Allow"
            and any(fnmatchcase(action, a) for a in actions)
            and any(fnmatchcase(resource, r) for r in resources)
        ):
            return True
    return False


def calls_of_the_state_machine(stack: Stack, mode: str) -> set[tuple[str, str]]:
    """(IAM action, resource ARN) of every Task the state machine can run in this detection mode."""
    substitutions = stack.resolve(stack.template["Resources"]["StoreHoursStateMachine"]["Properties"])[
        "DefinitionSubstitutions"
    ]
    text = re.sub(r"\$\{(\w+)\}", lambda m: str(substitutions[m.group(1)]), ASL_FILE.read_text())
    resources = set(re.findall(r'"Resource": "(arn:aws:states:::[^"]+)"', text))
    cameras = substitutions["CameraNames"].split(",")
    calls = set()
    for resource in resources:
        service, _, api = resource.removeprefix("arn:aws:states:::").removeprefix("aws-sdk:").partition(":")
        action = f"{service}:{api[0].upper()}{api[1:]}"
        if service == "lambda":
            calls.add(("lambda:InvokeFunction", substitutions["StoreHoursFunctionArn"]))
        elif service == "sns":
            calls.add((action, substitutions["OpsTopicArn"]))
            calls.add(("kms:GenerateDataKey", stack.get_att("TopicKey", "Arn")))  # the topic is KMS-encrypted
        elif service == "scheduler":
            group = substitutions["ScheduleGroupName"]
            names = ("opening-20260512T0800Z", "closing-20260511T1700Z")  # one schedule per boundary instant
            calls |= {(action, f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{group}/{n}") for n in names}
            calls.add(("iam:PassRole", substitutions["SchedulerRoleArn"]))
        elif service == "rekognition" and mode == "StreamProcessor":
            prefix = substitutions["ProcessorNamePrefix"]
            calls |= {(action, f"arn:aws:rekognition:{REGION}:{ACCOUNT}:streamprocessor/{prefix}{c}") for c in cameras}
        elif service == "dynamodb" and mode == "FrameSearch":
            calls.add((action, stack.get_att("FrameSearchStateTable", "Arn")))
    return calls


@pytest.mark.parametrize("mode", ["FrameSearch", "StreamProcessor"])
def test_every_call_the_state_machine_makes_is_allowed(aws, mode):
    stack = Stack({"AlertEmails": "staff@example.com", "DetectionMode": mode, "Cameras": "entrance,till"})
    statements = policy_statements(stack, "StoreHoursStateMachine")
    calls = calls_of_the_state_machine(stack, mode)
    assert {action for action, _ in calls} >= {"lambda:InvokeFunction", "sns:Publish", "scheduler:CreateSchedule"}
    assert [call for call in sorted(calls) if not allowed(statements, *call)] == []


@pytest.mark.parametrize(("mode", "not_granted"), [("FrameSearch", "rekognition:"), ("StreamProcessor", "dynamodb:")])
def test_the_other_modes_resources_are_not_granted(aws, mode, not_granted):
    stack = Stack({"AlertEmails": "staff@example.com", "DetectionMode": mode})
    actions = [a for s in policy_statements(stack, "StoreHoursStateMachine") for a in _list(s["Action"])]
    assert not [a for a in actions if a.startswith(not_granted)]


def test_the_check_itself_catches_a_missing_permission(aws):
    stack = Stack({"AlertEmails": "staff@example.com", "DetectionMode": "StreamProcessor"})
    statements = policy_statements(stack, "StoreHoursStateMachine")
    someone_elses = f"arn:aws:rekognition:{REGION}:{ACCOUNT}:streamprocessor/another-stack-entrance"
    assert not allowed(statements, "rekognition:StartStreamProcessor", someone_elses)
    assert not allowed(statements, "rekognition:DeleteStreamProcessor", someone_elses.replace("another", stack.name))
    assert allowed(statements, "rekognition:StartStreamProcessor", someone_elses.replace("another-stack", stack.name))


def test_the_function_may_read_both_parameters_and_write_only_the_override(aws):
    stack = Stack({"AlertEmails": "staff@example.com"})
    statements = policy_statements(stack, "StoreHoursFunction")
    arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter"
    special_days, override = stack.ref("StoreHoursSpecialDaysParameter"), stack.ref("StoreHoursOverrideParameter")
    assert allowed(statements, "ssm:GetParameter", arn + special_days)
    assert allowed(statements, "ssm:GetParameter", arn + override)
    assert allowed(statements, "ssm:PutParameter", arn + override)
    assert not allowed(statements, "ssm:PutParameter", arn + special_days)  # staff's, never the function's


def _list(value):
    return value if isinstance(value, list) else [value]
