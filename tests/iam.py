"""Check that every AWS call a function makes is allowed by that function's policies in template.yaml.

`CallRecorder` notes each call (service, operation, the resource it names) that clients make while a
handler runs; `function_policy(stack, "MatchFunction")` is every IAM statement of the function's role in the
translated template (tests/translated.py: SAM policy templates expanded, managed policies SAM adds);
`denied(...)` lists the calls those statements don't allow. So a permission missing from the template
fails a test offline, not a deploy in a store.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from fnmatch import fnmatchcase

import botocore.handlers
from stack import ACCOUNT, REGION, Stack
from translated import function_role, role_statements

# botocore's event names use the hyphenated service id; IAM uses its own prefixes.
_IAM_PREFIX = {"kinesis-video": "kinesisvideo", "kinesis-video-archived-media": "kinesisvideo", "sfn": "states"}
# Operations whose IAM action has another name (S3 authorises them as these actions).
_IAM_ACTION = {
    "s3:HeadObject": "s3:GetObject",
    "s3:CopyObject": "s3:PutObject",  # on the destination; the source needs s3:GetObject (see _implied)
    "s3:ListObjectsV2": "s3:ListBucket",
    # SQS has no IAM actions of its own for batches: each is authorised as the single-message action.
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}


@dataclass(frozen=True)
class Call:
    action: str  # e.g. "dynamodb:UpdateItem"
    resource: str  # the ARN the call acts on, or "*"


def _resource(service: str, operation: str, params: dict) -> str:
    arn = f"{REGION}:{ACCOUNT}"
    if service == "dynamodb":
        table = params.get("TableName") or next(iter(params.get("RequestItems", {})), "*")
        return f"arn:aws:dynamodb:{arn}:table/{table}"
    if service == "sns":
        return params.get("TopicArn", "*")
    if service in ("kinesis-video", "kinesis-video-archived-media"):
        return params.get("StreamARN") or f"arn:aws:kinesisvideo:{arn}:stream/{params.get('StreamName', '*')}/*"
    if service == "kinesis":
        return params.get("StreamARN") or f"arn:aws:kinesis:{arn}:stream/{params.get('StreamName', '*')}"
    if service == "s3":
        return f"arn:aws:s3:::{params.get('Bucket', '*')}" + (f"/{params['Key']}" if "Key" in params else "")
    if service == "rekognition":
        if "CollectionId" in params:
            return f"arn:aws:rekognition:{arn}:collection/{params['CollectionId']}"
        if operation.endswith("StreamProcessor"):
            return f"arn:aws:rekognition:{arn}:streamprocessor/{params.get('Name', '*')}"
        return "*"
    if service == "sqs":
        return "arn:aws:sqs:{}:{}".format(arn, params.get("QueueUrl", "*").rsplit("/", 1)[-1])
    return "*"


def _implied(service: str, params: dict) -> list[Call]:
    """Reads made with the caller's permissions as part of a call: Rekognition fetching an image from S3
    (Image.S3Object), S3 reading a copy's source."""
    s3_objects = []
    if service == "rekognition":
        for image in (params.get("Image"), params.get("SourceImage"), params.get("TargetImage")):
            if isinstance(image, dict) and "S3Object" in image:
                s3_objects.append((image["S3Object"]["Bucket"], image["S3Object"]["Name"]))
    if service == "s3" and isinstance(params.get("CopySource"), dict):
        s3_objects.append((params["CopySource"]["Bucket"], params["CopySource"]["Key"]))
    return [Call("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}") for bucket, key in s3_objects]


# TransactWriteItems has no IAM action of its own: each item is authorised as the action it performs.
_TRANSACTION_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}


def _transaction_items(params: dict) -> list[Call]:
    return [
        Call(_TRANSACTION_ACTIONS[kind], _resource("dynamodb", kind, write))
        for item in params.get("TransactItems", [])
        for kind, write in item.items()
    ]


class CallRecorder:
    """Records the calls of clients created after `install()`, while `active()`."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._active = False

    def __call__(self, event_name: str, params: dict, **kwargs) -> None:
        if self._active:
            _, service, operation = event_name.split(".")[:3]
            if service == "dynamodb" and operation == "TransactWriteItems":
                self.calls += _transaction_items(params)
                return
            action = f"{_IAM_PREFIX.get(service, service)}:{operation}"
            self.calls.append(Call(_IAM_ACTION.get(action, action), _resource(service, operation, params)))
            self.calls += _implied(service, params)

    def recording(self, handler):
        """`handler`, with the calls it makes recorded."""

        def run(event, context):
            with self.active():
                return handler(event, context)

        return run

    @contextmanager
    def active(self):
        self._active = True
        try:
            yield self
        finally:
            self._active = False

    def install(self):
        entries = [("before-parameter-build", self)]
        botocore.handlers.BUILTIN_HANDLERS.extend(entries)

        def uninstall() -> None:
            for entry in entries:
                botocore.handlers.BUILTIN_HANDLERS.remove(entry)

        return uninstall


def attached_policies(stack: Stack, role: str) -> list[dict]:
    """The policy documents of the AWS::IAM::RolePolicy / AWS::IAM::Policy resources attached to a role of the
    template (each camera's own permissions are such a policy, one per camera)."""
    documents = []
    for resource in stack.resources.values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::RolePolicy" and properties["RoleName"] == {"Ref": role}:
            documents.append(stack.resolve(properties["PolicyDocument"]))
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role} in properties.get("Roles", []):
            documents.append(stack.resolve(properties["PolicyDocument"]))
    return documents


def function_policy(stack: Stack, logical_id: str) -> list[dict]:
    """The IAM statements a function's role has in the translated template (its own role, or the one SAM
    generates from `Policies`, with the managed policies SAM adds)."""
    return [statement for _, statement in role_statements(stack, function_role(stack, logical_id))]


def _listify(value) -> list:
    return value if isinstance(value, list) else [value]


def allows(statements: list[dict], call: Call) -> bool:
    for statement in statements:
        if statement["Effect"] != "Allow":
            continue
        actions = [a.lower() for a in _listify(statement["Action"])]
        if not any(fnmatchcase(call.action.lower(), pattern) for pattern in actions):
            continue
        for resource in _listify(statement.get("Resource", "*")):
            pattern = re.sub(r"\$\{[^}]+\}", "*", resource)
            if call.resource == "*" and pattern != "*":
                continue
            # A call naming a stream by name only has a '*' where the ARN's creation time would be.
            if fnmatchcase(call.resource, pattern) or ("*" in call.resource and fnmatchcase(pattern, call.resource)):
                return True
    return False


def denied(stack: Stack, logical_id: str, calls: list[Call]) -> list[Call]:
    statements = function_policy(stack, logical_id)
    return sorted({call for call in calls if not allows(statements, call)}, key=lambda c: (c.action, c.resource))
