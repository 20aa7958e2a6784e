"""CI checks of statemachines/store_hours.asl.json itself.

Neither cfn-lint nor `sam validate` reads a file given by DefinitionUri (even broken JSON passes them),
so these tests do: cfn-lint's state-machine rules run on the definition embedded in a minimal
AWS::StepFunctions::StateMachine (as raw placeholders and with each detection mode's real values),
the placeholders are checked against the template's DefinitionSubstitutions, and the ASL's own
house rules (every state reachable, explicit retries with a timeout on every task, a run that ends or
reports within the reconcile interval, error names the integrations really raise) are enforced. A
deliberately broken copy shows the checks can fail.
"""

import json
import re

import pytest
import yaml
from cfnlint.api import lint
from cfnlint.config import ManualArgs
from stack import ROOT, Stack, load_template

ASL_FILE = ROOT / "statemachines" / "store_hours.asl.json"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def definition() -> dict:
    return json.loads(ASL_FILE.read_text())


def template_substitutions() -> dict:
    return load_template()["Resources"]["StoreHoursStateMachine"]["Properties"]["DefinitionSubstitutions"]


def cfn_lint(asl: dict | str, substitutions: dict) -> list[str]:
    """cfn-lint (every rule, E3601 included) on a minimal template holding the definition."""
    state_machine = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {"RoleArn": "arn:aws:iam::123456789012:role/store-hours"},
    }
    if substitutions:
        state_machine["Properties"]["DefinitionSubstitutions"] = substitutions
    if isinstance(asl, str):
        state_machine["Properties"]["DefinitionString"] = asl
    else:
        state_machine["Properties"]["Definition"] = asl
    template = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"StoreHoursStateMachine": state_machine}}
    matches = lint(yaml.safe_dump(template), config=ManualArgs(regions=["eu-west-1"]))
    return [f"{m.rule.id} {m.message}" for m in matches]


def all_states(states: dict):
    """(name, state, sibling states) for every state, nested Map/Parallel ones included."""
    for name, state in states.items():
        yield name, state, states
        if "ItemProcessor" in state or "Iterator" in state:
            yield from all_states((state.get("ItemProcessor") or state["Iterator"])["States"])
        for branch in state.get("Branches", []):
            yield from all_states(branch["States"])


def reachable(machine: dict) -> set[str]:
    seen, todo = set(), [machine["StartAt"]]
    while todo:
        name = todo.pop()
        if name in seen or name not in machine["States"]:
            continue
        seen.add(name)
        state = machine["States"][name]
        todo += [t for t in [state.get("Next"), state.get("Default")] if t]
        todo += [choice["Next"] for choice in state.get("Choices", [])]
        todo += [catch["Next"] for catch in state.get("Catch", [])]
    return seen


def house_rule_problems(machine: dict) -> list[str]:
    """What cfn-lint does not check: dangling targets, unreachable states, implicit or missing retries."""
    problems = []
    for states_owner in [machine] + [
        state["ItemProcessor"] for _, state, _ in all_states(machine["States"]) if "ItemProcessor" in state
    ]:
        unreachable = set(states_owner["States"]) - reachable(states_owner)
        problems += [f"{name} is unreachable" for name in sorted(unreachable)]
    for name, state, siblings in all_states(machine["States"]):
        targets = [state.get("Next"), state.get("Default")]
        targets += [c["Next"] for c in state.get("Choices", []) + state.get("Catch", [])]
        problems += [f"{name} goes to missing {t}" for t in targets if t is not None and t not in siblings]
        rules = state.get("Choices", [])
        problems += [f"{name} repeats a choice rule" for i, rule in enumerate(rules) if rule in rules[:i]]
        if state["Type"] == "Task":
            if not state.get("Retry"):
                problems.append(f"{name} has no Retry")
            if not state.get("TimeoutSeconds"):
                problems.append(f"{name} has no TimeoutSeconds")
            for retrier in state.get("Retry", []):
                if "States.ALL" in retrier["ErrorEquals"]:
                    problems.append(f"{name} retries States.ALL")
                if retrier.get("BackoffRate", 1) <= 1:
                    problems.append(f"{name} retries without backoff")
    return problems


# ---------------------------------------------------------------------- cfn-lint on the definition
def test_definition_passes_cfn_lints_state_machine_rules_as_written():
    placeholders = {key: f"${{{key}}}" for key in template_substitutions()}
    assert cfn_lint(ASL_FILE.read_text(), placeholders) == []  # as DefinitionString, the file's own text


@pytest.mark.parametrize("mode", ["FrameSearch", "StreamProcessor"])
def test_definition_passes_cfn_lint_with_each_modes_real_values(aws, mode):
    stack = Stack({"AlertEmails": "staff@example.com", "DetectionMode": mode, "Cameras": "entrance,till"})
    values = {key: str(value) for key, value in stack.resolve(template_substitutions()).items()}
    substituted = PLACEHOLDER.sub(lambda m: values[m.group(1)], ASL_FILE.read_text())
    assert cfn_lint(json.loads(substituted), {}) == []
    assert values["CameraNames"] == "entrance,till" and values["DetectionMode"] == mode


def test_a_broken_definition_is_caught():
    broken = definition()
    broken["States"]["Done"]["Type"] = "Sucess"
    del broken["States"]["DecideDetection"]["Resource"]
    complaints = cfn_lint(broken, {key: "x" for key in template_substitutions()})
    assert any("Sucess" in c for c in complaints)
    assert any("Resource" in c for c in complaints)
    broken = definition()
    camera = broken["States"]["SetDetectionOnEveryCamera"]["ItemProcessor"]["States"]
    camera["StillChanging"]["Default"] = "GiveUp"
    camera["StartStreamProcessor"]["Retry"][0]["ErrorEquals"] = ["States.ALL"]
    del camera["NotifyOps"]["TimeoutSeconds"]
    camera["CompareWithWanted"]["Choices"].append(camera["CompareWithWanted"]["Choices"][0])
    broken["States"]["Lonely"] = {"Type": "Succeed"}
    assert sorted(house_rule_problems(broken)) == [
        "CompareWithWanted repeats a choice rule",
        "Lonely is unreachable",
        "NotifyOps has no TimeoutSeconds",
        "StartStreamProcessor retries States.ALL",
        "StillChanging goes to missing GiveUp",
    ]


# ---------------------------------------------------------------------- placeholders vs the template
def test_every_placeholder_is_a_template_substitution_and_every_substitution_is_used():
    used = set(PLACEHOLDER.findall(ASL_FILE.read_text()))
    assert used == set(template_substitutions())


# ---------------------------------------------------------------------- house rules
def test_every_state_is_reachable_every_target_exists_and_every_task_retries_named_errors():
    assert house_rule_problems(definition()) == []


def task_worst_seconds(state: dict) -> float:
    """The longest a Task can take: every attempt timing out, every retry waiting its longest (full jitter
    waits at most the backoff interval, capped at MaxDelaySeconds)."""
    (retrier,) = state["Retry"]
    waits = [
        min(retrier["IntervalSeconds"] * retrier["BackoffRate"] ** n, retrier.get("MaxDelaySeconds", float("inf")))
        for n in range(retrier["MaxAttempts"])
    ]
    return (retrier["MaxAttempts"] + 1) * state["TimeoutSeconds"] + sum(waits)


def test_a_run_ends_or_reports_its_cameras_within_the_reconcile_interval():
    """A camera stops being waited for at the decision's camera deadline (CAMERA_SECONDS after the decision);
    what can still happen after it, at its slowest, fits in the state machine's TimeoutSeconds, which is
    shorter than the reconcile interval: a run is over (or timed out, which the failed-runs alarm reports)
    before the next reconcile starts, and a stuck camera is emailed about before that."""
    machine = definition()
    states = {name: state for name, state, _ in all_states(machine["States"])}
    variables = load_template()["Resources"]["StoreHoursFunction"]["Properties"]["Environment"]["Variables"]
    camera_seconds, reconcile_minutes = int(variables["CAMERA_SECONDS"]), int(variables["RECONCILE_MINUTES"])
    worst = {name: task_worst_seconds(state) for name, state in states.items() if state["Type"] == "Task"}
    # the slowest way past the deadline: the camera's first look starts just before it, then a start,
    # one poll, the second look, the email; then the next opening/closing schedules
    after_deadline = (
        worst["DescribeStreamProcessor"]
        + worst["StartStreamProcessor"]
        + states["WaitForStreamProcessor"]["Seconds"]
        + worst["DescribeStreamProcessor"]
        + worst["SecondLook"]
        + worst["NotifyOps"]
        + worst["CreateBoundarySchedule"]
    )
    assert camera_seconds + after_deadline <= machine["TimeoutSeconds"] < reconcile_minutes * 60
    # and what happens before the cameras is inside the deadline (it counts from the decision's start)
    assert worst["DecideDetection"] + worst["NotifyCalendarProblem"] < camera_seconds
    still_changing = states["StillChanging"]["Choices"][0]["And"]
    assert {"Variable": "$.described.checked_at", "TimestampLessThanPath": "$.deadline"} in still_changing
    assert {"Variable": "$.progress.polls", "NumericLessThan": 30} in still_changing
    assert states["StillChanging"]["Default"] == "NotInWantedState"


# What Step Functions calls each error of the integrations the ASL uses. AWS SDK integrations
# (arn:aws:states:::aws-sdk:<service>:<action>) raise "<Service>.<ErrorCode>" with "Exception" added when the
# code lacks it (Step Functions' AWS SDK integration docs: Rekognition.ResourceInUseException). The optimized
# DynamoDB integration raises "DynamoDB.<ErrorCode>" as DynamoDB spells the code (RequestLimitExceeded,
# InternalServerError: no suffix); the optimized SNS one adds "Exception" (SNS's Throttled ->
# SNS.ThrottledException); Lambda's are "Lambda.<ErrorCode>" plus the two client-side names AWS documents.
# moto's interpreter (ported from LocalStack, whose tests record these against AWS) raises the same.
KNOWN_ERRORS = {
    "lambda": {
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    },
    "rekognition": {
        f"Rekognition.{code}"
        for code in (
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "InternalServerErrorException",  # Rekognition's code is InternalServerError
            "ResourceInUseException",
            "ResourceNotFoundException",
        )
    },
    "dynamodb": {
        f"DynamoDB.{code}"
        for code in (
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
            "ThrottlingException",
            "InternalServerError",
            "ConditionalCheckFailedException",
        )
    },
    "sns": {"SNS.ThrottledException", "SNS.KMSThrottlingException", "SNS.InternalErrorException"},
    "scheduler": {
        f"Scheduler.{code}"
        for code in ("ThrottlingException", "InternalServerException", "ConflictException", "ResourceNotFoundException")
    },
}


def unknown_errors(machine: dict) -> list[str]:
    unknown = []
    for name, state, _ in all_states(machine["States"]):
        if state["Type"] != "Task":
            continue
        service = state["Resource"].removeprefix("arn:aws:states:::").removeprefix("aws-sdk:").split(":")[0]
        for rule in state.get("Retry", []) + state.get("Catch", []):
            for error in rule["ErrorEquals"]:
                if error.startswith("States.") or error in KNOWN_ERRORS[service]:
                    continue
                if service == "lambda" and error == "InvalidRequest":  # the store-hours function's own error
                    continue
                unknown.append(f"{name}: {error}")
    return unknown


def test_every_error_a_task_retries_or_catches_is_one_its_integration_raises():
    assert unknown_errors(definition()) == []
    misspelt = definition()
    camera = misspelt["States"]["SetDetectionOnEveryCamera"]["ItemProcessor"]["States"]
    camera["SetFrameSearchDetection"]["Retry"][0]["ErrorEquals"].append("DynamoDB.InternalServerErrorException")
    camera["NotifyOps"]["Retry"][0]["ErrorEquals"].append("SNS.Throttled")
    assert unknown_errors(misspelt) == [
        "SetFrameSearchDetection: DynamoDB.InternalServerErrorException",
        "NotifyOps: SNS.Throttled",
    ]


def test_detection_is_started_and_stopped_in_one_place():
    """One Choice on the detection mode dispatches every start/stop; each mode's calls sit behind it."""
    camera = definition()["States"]["SetDetectionOnEveryCamera"]["ItemProcessor"]
    assert camera["StartAt"] == "WhichDetectionMode"
    choice = camera["States"]["WhichDetectionMode"]
    assert {c["StringEquals"]: c["Next"] for c in choice["Choices"]} == {
        "FrameSearch": "SetFrameSearchDetection",
        "StreamProcessor": "DescribeStreamProcessor",
    }
    resources = [state.get("Resource", "") for _, state, _ in all_states(definition()["States"])]
    detection_calls = [r for r in resources if "rekognition" in r or "dynamodb" in r]
    assert detection_calls and all(r in json.dumps(camera) for r in detection_calls)


def test_definition_is_plain_json_without_inline_template_syntax():
    text = ASL_FILE.read_text()
    assert "Fn::" not in text and "!Ref" not in text and "!Sub" not in text
