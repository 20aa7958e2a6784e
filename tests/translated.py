"""template.yaml as CloudFormation receives it: SAM's transform, run offline with samtranslator (as `sam validate`
does), so tests see the roles, managed policies and inline policies SAM adds, not only what the template writes.

`translated_resources(stack)` gives the translated resources whose condition holds for the stack's parameters;
`role_statements(stack, role)` every IAM statement a role ends up with (inline, attached AWS::IAM::Policy /
RolePolicy / ManagedPolicy, and AWS-managed policies from AWS_MANAGED_POLICIES), resolved with the stack.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import os
import re

from stack import REGION, Stack

from local.stack import _create_placeholder

# The AWS-managed policies SAM may attach, as AWS documents them (AWS managed policy reference). A policy not
# listed here fails the security test until someone transcribes it and judges what it grants.
AWS_MANAGED_POLICIES = {
    "service-role/AWSLambdaBasicExecutionRole": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "*",
        }
    ],
    "AWSXrayWriteOnlyAccess": [
        {
            "Effect": "Allow",
            "Action": [
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "xray:GetSamplingRules",
                "xray:GetSamplingTargets",
                "xray:GetSamplingStatisticSummaries",
            ],
            "Resource": "*",
        }
    ],
    "service-role/AWSLambdaKinesisExecutionRole": [
        {
            "Effect": "Allow",
            "Action": [
                "kinesis:DescribeStream",
                "kinesis:DescribeStreamSummary",
                "kinesis:GetRecords",
                "kinesis:GetShardIterator",
                "kinesis:ListShards",
                "kinesis:ListStreams",
                "kinesis:SubscribeToShard",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            "Resource": "*",
        }
    ],
    "service-role/AmazonAPIGatewayPushToCloudWatchLogs": [
        {
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogGroups",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
                "logs:GetLogEvents",
                "logs:FilterLogEvents",
            ],
            "Resource": "*",
        }
    ],
}
_MANAGED_ARN = re.compile(r"^arn:[a-z-]+:iam::aws:policy/(.+)$")


class _NoManagedPolicyLookups:
    """SAM looks managed policies named in `Policies` up in IAM; the template names none, so offline is enough."""

    def load(self) -> dict:
        return {}


@functools.lru_cache(maxsize=8)
def _translate(template_json: str, parameters_json: str) -> dict:
    from samtranslator.translator.transform import transform

    template = json.loads(template_json)
    # As `sam validate` does: local code and definition paths stand in as S3 URIs (the transform checks the form).
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://greeter-offline/{properties[key]}"
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    return transform(template, json.loads(parameters_json), _NoManagedPolicyLookups())


def translated_template(stack: Stack) -> dict:
    parameters = {name: ",".join(v) if isinstance(v, list) else v for name, v in stack.parameters.items()}
    return copy.deepcopy(_translate(json.dumps(stack.template, sort_keys=True), json.dumps(parameters, sort_keys=True)))


def translated_resources(stack: Stack) -> dict[str, dict]:
    """The translated resources whose condition holds; those SAM added join the stack as placeholders, so a
    Ref or GetAtt to them resolves."""
    resources = {}
    for logical_id, resource in translated_template(stack)["Resources"].items():
        if "Condition" in resource and not stack._condition(resource["Condition"]):
            continue
        resources[logical_id] = resource
        if logical_id not in stack.resources:
            stack.resources[logical_id] = {"Type": resource["Type"]}
            stack.refs[logical_id], stack.attributes[logical_id] = _create_placeholder(stack, logical_id, {})
    return resources


def _listify(value) -> list:
    return value if isinstance(value, list) else [value]


def role_statements(stack: Stack, role_id: str) -> list[tuple[str, dict]]:
    """(where it comes from, statement) for every IAM statement role `role_id` is given."""
    resources = translated_resources(stack)
    role = resources[role_id]["Properties"]
    found = []
    for policy in role.get("Policies", []):
        document = stack.resolve(policy["PolicyDocument"])
        found += [(f"{role_id} inline {policy['PolicyName']}", s) for s in _listify(document["Statement"])]
    for arn in stack.resolve(role.get("ManagedPolicyArns", [])):
        managed = _MANAGED_ARN.match(str(arn))
        if managed:
            name = managed.group(1)
            if name not in AWS_MANAGED_POLICIES:
                raise AssertionError(f"{role_id} gets AWS-managed policy {name}: transcribe it in AWS_MANAGED_POLICIES")
            found += [(f"{role_id} AWS-managed {name}", s) for s in AWS_MANAGED_POLICIES[name]]
    role_ref = stack.ref(role_id)
    for logical_id, resource in resources.items():
        properties = resource.get("Properties", {})
        attached = (
            resource["Type"] == "AWS::IAM::RolePolicy" and stack.resolve(properties.get("RoleName")) == role_ref
        ) or (
            resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
            and role_ref in stack.resolve(properties.get("Roles", []))
        )
        if attached:
            document = stack.resolve(properties["PolicyDocument"])
            found += [(logical_id, s) for s in _listify(document["Statement"])]
    return found


def function_role(stack: Stack, function_id: str) -> str:
    """The logical id of the role a function or state machine runs with (its own or the one SAM generates)."""
    properties = translated_resources(stack)[function_id]["Properties"]
    role = properties.get("Role", properties.get("RoleArn"))
    assert isinstance(role, dict) and "Fn::GetAtt" in role, f"{function_id} has role {role!r}, not one of the stack's"
    return role["Fn::GetAtt"][0]
