"""tools/env_json.py writes the env.json `sam local invoke --env-vars` reads, from a deployed stack.

The stack here is deployed through moto's CloudFormation: one AWS::Lambda::Function per function of
template.yaml (in the mode under test), each with the environment the template gives it (resolved by
local/stack.py against the same moto account), next to resources that are not functions. So env.json must
name every function of the template by its logical id with exactly its template environment."""

import io
import json
import sys
from contextlib import redirect_stderr
from pathlib import Path

import pytest
from stack import Stack

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import env_json  # noqa: E402

ROLE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _deploy_functions_through_cloudformation(stack: Stack, name: str) -> dict[str, dict[str, str]]:
    """A CloudFormation stack on moto holding template.yaml's functions with their template environments."""
    functions = {
        logical_id: stack.function_environment(logical_id)
        for logical_id, resource in stack.resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    resources = {
        "FunctionRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": ROLE_TRUST}},
        "NotAFunction": {"Type": "AWS::SQS::Queue"},
    }
    for logical_id, variables in functions.items():
        resources[logical_id] = {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.13",
                "Handler": "app.lambda_handler",
                "Role": {"Fn::GetAtt": ["FunctionRole", "Arn"]},
                "Code": {"ZipFile": "def lambda_handler(event, context):\n    return event\n"},
                "Environment": {"Variables": variables},
            },
        }
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": resources,
        "Outputs": {"MatchFunctionName": {"Value": {"Ref": "MatchFunction"}}},
    }
    stack.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))
    return functions


@pytest.mark.parametrize("mode", ["FrameSearch", "StreamProcessor"])
def test_env_json_gives_each_function_of_the_stack_its_deployed_environment(aws, tmp_path, capsys, mode):
    stack = Stack({"AlertEmails": "staff@example.com", "DetectionMode": mode, "Cameras": "entrance,till"})
    expected = _deploy_functions_through_cloudformation(stack, "greeter")
    out = tmp_path / "env.json"

    assert env_json.main(["--stack", "greeter", "--region", "eu-west-1", "--out", str(out)]) == 0

    written = json.loads(out.read_text())
    assert written == expected
    assert ("FrameSearchFunction" in written) is (mode == "FrameSearch")
    assert written["MatchFunction"]["PEOPLE_TABLE"] == stack.ref("PeopleTable")
    assert written["MatchFunction"]["VIDEO_STREAM_ARN_PREFIX"].endswith(f":stream/{stack.name}-")
    assert written["MatchFunction"]["CAMERA_NAMES"] == "entrance,till"
    assert "wrote" in capsys.readouterr().out


def test_a_stack_that_is_not_there_is_said_plainly(aws, tmp_path):
    out = tmp_path / "env.json"
    errors = io.StringIO()
    with redirect_stderr(errors):
        assert env_json.main(["--stack", "no-such-stack", "--region", "eu-west-1", "--out", str(out)]) == 1
    assert "no-such-stack" in errors.getvalue() and "deploy it first" in errors.getvalue()
    assert not out.exists()
