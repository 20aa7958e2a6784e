"""Stand template.yaml up on moto, the way CloudFormation would: for the tests and for the local runtime.

The tests use it so they exercise the template's wiring; `make local` uses the same code to stand the stack
up on a moto server on 127.0.0.1.

`Stack` reads template.yaml, evaluates its parameters, expands its `Fn::ForEach` loops (the
AWS::LanguageExtensions transform: one set of resources per camera, one subscription per alert address),
evaluates its conditions, creates every resource moto
can hold (tables, topics, queues, streams, buckets, keys, the face collection and stream processors
through the shared Rekognition fake) with the properties the template gives them, and hands a
function the environment variables the template gives it. A renamed key, a missing variable or a
wrong Ref in the template therefore fails a test.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import json
import re
import sys
import types
import uuid
from pathlib import Path
from typing import Any

import boto3
import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
_CLIENTS: dict[str, Any] = {}

_INTRINSICS = [
    "Ref",
    "GetAtt",
    "Sub",
    "Join",
    "Select",
    "Split",
    "If",
    "Equals",
    "Not",
    "And",
    "Or",
    "Condition",
    "FindInMap",
    "Base64",
    "GetAZs",
    "ImportValue",
    "Cidr",
    "ToJsonString",
    "Length",
]


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation's short tags (!Ref, !Sub...) into their long forms."""


def _tag_constructor(tag: str):
    def construct(loader: yaml.Loader, node: yaml.Node) -> dict:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if tag == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {"Ref" if tag == "Ref" else "Condition" if tag == "Condition" else f"Fn::{tag}": value}

    return construct


for _tag in _INTRINSICS:
    _CfnLoader.add_constructor(f"!{_tag}", _tag_constructor(_tag))


def load_template(path: Path = TEMPLATE) -> dict:
    return copy.deepcopy(_parse_template(path.read_text()))


@functools.lru_cache(maxsize=4)
def _parse_template(text: str) -> dict:
    """Parsing the YAML is most of a deploy's time; each test still gets its own copy."""
    return yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


def _strip_no_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_no_value(v) for k, v in value.items() if v is not NO_VALUE}
    if isinstance(value, list):
        return [_strip_no_value(v) for v in value if v is not NO_VALUE]
    return value


_FOR_EACH = "Fn::ForEach::"


def _substitute_identifier(value: Any, identifier: str, item: str) -> Any:
    """One copy of a loop's fragment for one item: ${Identifier} becomes the item, &{Identifier} the item without
    its non-alphanumeric characters (for logical ids), and {"Ref": Identifier} the item."""
    if isinstance(value, str):
        return value.replace(f"${{{identifier}}}", item).replace(
            f"&{{{identifier}}}", re.sub(r"[^A-Za-z0-9]", "", item)
        )
    if isinstance(value, list):
        return [_substitute_identifier(v, identifier, item) for v in value]
    if isinstance(value, dict):
        if value == {"Ref": identifier}:
            return item
        return {
            _substitute_identifier(k, identifier, item): _substitute_identifier(v, identifier, item)
            for k, v in value.items()
        }
    return value


def expand_for_each(value: Any, collection_of, reserved: frozenset[str] = frozenset()) -> Any:
    """`value` with every `Fn::ForEach::<Loop>: [Identifier, Collection, {OutputKey: OutputValue}]` replaced by one
    OutputKey per item of the collection, as AWS::LanguageExtensions does (loops inside loops too).
    `collection_of` evaluates a loop's Collection (a list, or a Ref to a CommaDelimitedList parameter). Two
    keys coming out the same (two cameras whose names differ only by dashes) are refused, as CloudFormation
    refuses the template, and so is a loop named like one of `reserved` (the parameters and logical ids)."""
    if isinstance(value, list):
        return [expand_for_each(v, collection_of, reserved) for v in value]
    if not isinstance(value, dict):
        return value
    expanded: dict[str, Any] = {}

    def add(key: str, item: Any, origin: str) -> None:
        if key in expanded:
            raise ValueError(f"{origin} makes {key!r}, which the template already has: logical ids must be unique")
        expanded[key] = item

    for key, item in value.items():
        if not key.startswith(_FOR_EACH):
            add(key, expand_for_each(item, collection_of, reserved), key)
            continue
        if key.removeprefix(_FOR_EACH) in reserved:
            raise ValueError(f"{key}: a loop's name must differ from every parameter and logical id")
        identifier, collection, fragment = item
        for element in collection_of(collection):
            copy_ = _substitute_identifier(fragment, identifier, str(element))
            for out_key, out_value in expand_for_each(copy_, collection_of, reserved).items():
                add(out_key, out_value, f"{key} with {identifier}={element!r}")
    return expanded


class Stack:
    """template.yaml deployed on moto (inside a `mock_aws` context, as conftest's `stack` fixture does, or with
    boto3 pointed at a moto server, as the local runtime does)."""

    def __init__(self, parameters: dict[str, Any] | None = None, name: str | None = None):
        self.name = name or f"gt{uuid.uuid4().hex[:8]}"
        self.template = load_template()
        self.parameters = self._parameter_values(parameters or {})
        reserved = frozenset(self.template.get("Parameters", {})) | frozenset(self.template["Resources"])
        self.template = expand_for_each(self.template, self._collection, reserved)
        self.conditions: dict[str, bool] = {}
        for condition in self.template.get("Conditions", {}):
            self._condition(condition)
        self.refs: dict[str, Any] = {}
        self.attributes: dict[str, dict[str, Any]] = {}
        self.resources = {
            logical_id: resource
            for logical_id, resource in self.template["Resources"].items()
            if "Condition" not in resource or self._condition(resource["Condition"])
        }
        self.resources.update(_sam_generated_resources(self.resources))

    # ------------------------------------------------------------------ parameters and conditions
    def _parameter_values(self, overrides: dict[str, Any]) -> dict[str, Any]:
        values = {}
        for name, spec in self.template.get("Parameters", {}).items():
            value = overrides.get(name, spec.get("Default"))
            if value is None:
                raise ValueError(f"parameter {name} has no default; the test must give it")
            if spec["Type"] == "CommaDelimitedList" and isinstance(value, str):
                value = [item.strip() for item in value.split(",")]
            if "AllowedValues" in spec and str(value) not in [str(v) for v in spec["AllowedValues"]]:
                raise ValueError(f"parameter {name}={value!r} is not one of {spec['AllowedValues']}")
            # CloudFormation checks a list's pattern against each of its items.
            for item in value if isinstance(value, list) else [value]:
                if (
                    "AllowedPattern" in spec
                    and isinstance(item, str)
                    and not re.fullmatch(spec["AllowedPattern"], item)
                ):
                    raise ValueError(
                        f"parameter {name}: {item!r} does not match {spec['AllowedPattern']}"
                        + (f" ({spec['ConstraintDescription']})" if "ConstraintDescription" in spec else "")
                    )
            values[name] = value
        unknown = set(overrides) - set(values)
        if unknown:
            raise ValueError(f"template.yaml has no parameters {sorted(unknown)}")
        return values

    def _collection(self, collection: Any) -> list:
        """A Fn::ForEach collection: a literal list, or a Ref to a list parameter (the forms CloudFormation takes)."""
        if isinstance(collection, dict) and set(collection) == {"Ref"}:
            if collection["Ref"] not in self.parameters:
                raise ValueError(f"Fn::ForEach over {collection['Ref']}, which is not a parameter")
            collection = self.parameters[collection["Ref"]]
        if not isinstance(collection, list):
            raise ValueError(f"Fn::ForEach needs a list, got {collection!r}")
        return collection

    def outputs(self) -> dict[str, Any]:
        """The stack's outputs (those whose condition holds), as `describe-stacks` lists them."""
        return {
            key: self.resolve(output["Value"])
            for key, output in self.template.get("Outputs", {}).items()
            if "Condition" not in output or self._condition(output["Condition"])
        }

    def _condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self.conditions[name]

    # ------------------------------------------------------------------ intrinsic functions
    def _pseudo(self, name: str) -> Any:
        return {
            "AWS::StackName": self.name,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{self.name}/0",
        }[name]

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self._pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        if name not in self.refs:
            self.deploy_resource(name)
        return self.refs[name]

    def get_att(self, logical_id: str, attribute: str) -> Any:
        if logical_id not in self.attributes:
            self.deploy_resource(logical_id)
        try:
            return self.attributes[logical_id][attribute]
        except KeyError:
            raise KeyError(f"{logical_id} has no attribute {attribute} in this harness") from None

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match) -> str:
            token = match.group(1)
            if token.startswith("!"):
                return "${" + token[1:] + "}"
            if token in variables:
                return str(variables[token])
            if "." in token and not token.startswith("AWS::"):
                logical_id, attribute = token.split(".", 1)
                return str(self.get_att(logical_id, attribute))
            return str(self.ref(token))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Condition":
                return self._condition(arg)
            if key.startswith("Fn::"):
                return self._function(key[4:], arg)
        return {k: v for k, v in ((k, self.resolve(v)) for k, v in value.items()) if v is not NO_VALUE}

    def _function(self, name: str, arg: Any) -> Any:
        if name == "GetAtt":
            logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            # AWS::LanguageExtensions lets the logical id be a Fn::Sub (`!GetAtt [!Sub "&{Camera}VideoStream", Arn]`).
            return self.get_att(self.resolve(logical_id), self.resolve(attribute))
        if name == "Sub":
            if isinstance(arg, list):
                text, variables = arg
                return self._sub(text, {k: self.resolve(v) for k, v in variables.items()})
            return self._sub(arg, {})
        if name == "If":
            condition, when_true, when_false = arg
            return self.resolve(when_true if self._condition(condition) else when_false)
        args = self.resolve(arg)
        if name == "Join":
            separator, items = args
            return separator.join(str(item) for item in items)
        if name == "Select":
            index, items = args
            return items[int(index)]
        if name == "Split":
            separator, text = args
            return text.split(separator)
        if name == "Equals":
            return str(args[0]) == str(args[1])
        if name == "Not":
            return not args[0]
        if name == "And":
            return all(args)
        if name == "Or":
            return any(args)
        if name == "ToJsonString":
            return json.dumps(args)
        if name == "Length":
            return len(args)
        raise NotImplementedError(f"Fn::{name} is not supported by local/stack.py")

    # ------------------------------------------------------------------ resources
    def deploy(self) -> Stack:
        """Create every resource of the template (whose condition holds) on moto."""
        for logical_id in self.resources:
            self.deploy_resource(logical_id)
        return self

    def deploy_resource(self, logical_id: str) -> None:
        if logical_id in self.refs:
            return
        if logical_id not in self.resources:
            raise KeyError(f"template.yaml has no resource {logical_id} (or its condition is false)")
        resource = self.resources[logical_id]
        properties = _strip_no_value(self.resolve(resource.get("Properties", {})))
        create = _CREATORS.get(resource["Type"], _create_placeholder)
        ref, attributes = create(self, logical_id, properties)
        self.refs[logical_id] = ref
        self.attributes[logical_id] = attributes

    def physical_name(self, logical_id: str) -> str:
        return f"{self.name}-{logical_id}"

    def client(self, service: str):
        # One client per service per test process: creating boto3 clients dominated deploy time, and moto
        # answers any client, whenever it was created.
        if service not in _CLIENTS:
            _CLIENTS[service] = boto3.client(service, region_name=REGION)
        return _CLIENTS[service]

    # ------------------------------------------------------------------ functions
    def function_environment(self, logical_id: str) -> dict[str, str]:
        """The environment variables the template gives a function (Globals merged with its own)."""
        function = self.resources[logical_id]
        assert function["Type"] == "AWS::Serverless::Function", f"{logical_id} is not a function"
        variables = dict(
            self.template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        )
        variables.update(function["Properties"].get("Environment", {}).get("Variables", {}))
        return {name: str(self.resolve(value)) for name, value in variables.items()}

    def function_code_dir(self, logical_id: str) -> Path:
        return ROOT / self.resources[logical_id]["Properties"]["CodeUri"]

    def load_function(self, logical_id: str, monkeypatch) -> Any:
        """Import the function's app.py afresh with the template's environment (as a cold start would)."""
        for name, value in self.function_environment(logical_id).items():
            monkeypatch.setenv(name, value)
        return import_function(self.function_code_dir(logical_id), monkeypatch)


# Resources SAM's transform adds that a template may reference: a function's events, named <function><event>
# (e.g. a queue policy naming the rule that sends to it), and the role of a function or state machine without
# its own Role, named <function>Role (a per-camera policy attached to it). An EventBridgeRule event becomes a
# rule on moto with the event's pattern and the function as its target (local/event_sources.py delivers what
# it matches); the others deploy as placeholders.
_SAM_EVENT_RESOURCE_TYPES = {"EventBridgeRule": "AWS::Events::Rule", "Schedule": "AWS::Events::Rule"}
_SAM_ROLE_OWNERS = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine")


def _sam_generated_resources(resources: dict[str, dict]) -> dict[str, dict]:
    generated = {}
    for logical_id, resource in resources.items():
        if resource["Type"] in _SAM_ROLE_OWNERS and "Role" not in resource.get("Properties", {}):
            generated[f"{logical_id}Role"] = {"Type": "AWS::IAM::Role"}
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event_id, event in resource.get("Properties", {}).get("Events", {}).items():
            if event.get("Type") not in _SAM_EVENT_RESOURCE_TYPES:
                continue
            rule: dict[str, Any] = {"Type": _SAM_EVENT_RESOURCE_TYPES[event["Type"]]}
            if event["Type"] == "EventBridgeRule":
                rule["Properties"] = {
                    "EventPattern": event["Properties"]["Pattern"],
                    "Targets": [{"Id": f"{logical_id}{event_id}Target", "Arn": {"Fn::GetAtt": [logical_id, "Arn"]}}],
                }
            generated[f"{logical_id}{event_id}"] = rule
    return generated


_FUNCTIONS_DIR = ROOT / "functions"


def import_function(code_dir: Path, monkeypatch) -> Any:
    """Import code_dir/app.py as a fresh module, its folder first on sys.path (as in Lambda)."""
    for name, module in list(sys.modules.items()):
        module_file = getattr(module, "__file__", None) or ""
        if module_file.startswith(str(_FUNCTIONS_DIR)):
            del sys.modules[name]
    # A cold start also runs the layer's observability setup again (its stack dimension comes from the env).
    sys.modules.pop("greeter_common.observability", None)
    monkeypatch.syspath_prepend(str(code_dir))
    spec = importlib.util.spec_from_file_location(f"{code_dir.name}_app", code_dir / "app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------- one creator per resource type
def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def _create_placeholder(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    """Resources moto does not need to hold for the tests (roles, alarms, log groups, policies...)."""
    name = stack.physical_name(logical_id)
    return name, {"Arn": _arn("placeholder", name), "Name": name}


def _create_event_api(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    """An AppSync Events API: moto has none, so its endpoints are the running stand-in's
    (local/appsync_events.py), else AWS-shaped names nothing connects to."""
    from . import appsync_events

    api_id = uuid.uuid4().hex[:26]
    fake = appsync_events.running
    http = fake.http_host if fake else f"{api_id}.appsync-api.{REGION}.amazonaws.com"
    realtime = fake.realtime_host if fake else f"{api_id}.appsync-realtime-api.{REGION}.amazonaws.com"
    arn = _arn("appsync", f"apis/{api_id}")
    return api_id, {"ApiId": api_id, "ApiArn": arn, "Dns.Http": http, "Dns.Realtime": realtime}


def _create_channel_namespace(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    arn = _arn("appsync", f"apis/{properties['ApiId']}/channelNamespace/{properties['Name']}")
    return arn, {"Name": properties["Name"], "ChannelNamespaceArn": arn}


def _create_cloudfront(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    """CloudFront (distribution, origin access control, headers policy): nothing local serves through it; its ids
    and domain name are AWS-shaped so the template's references resolve."""
    resource_id = "E" + uuid.uuid4().hex[:13].upper()
    return resource_id, {"Id": resource_id, "DomainName": f"d{uuid.uuid4().hex[:13]}.cloudfront.net"}


def _create_table(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    name = properties.get("TableName", stack.physical_name(logical_id))
    args = {k: properties[k] for k in ("KeySchema", "AttributeDefinitions", "BillingMode") if k in properties}
    for index_kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if index_kind in properties:
            args[index_kind] = properties[index_kind]
    if "StreamSpecification" in properties:
        args["StreamSpecification"] = {"StreamEnabled": True, **properties["StreamSpecification"]}
    dynamodb = stack.client("dynamodb")
    description = dynamodb.create_table(TableName=name, **args)["TableDescription"]
    if properties.get("TimeToLiveSpecification", {}).get("Enabled"):
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=properties["TimeToLiveSpecification"])
    return name, {"Arn": description["TableArn"], "StreamArn": description.get("LatestStreamArn")}


def _create_topic(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    name = properties.get("TopicName", stack.physical_name(logical_id))
    attributes = {k: str(properties[k]) for k in ("DisplayName", "KmsMasterKeyId") if k in properties}
    arn = stack.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
    return arn, {"TopicArn": arn, "TopicName": name}


def _create_subscription(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    arn = stack.client("sns").subscribe(
        TopicArn=properties["TopicArn"], Protocol=properties["Protocol"], Endpoint=properties["Endpoint"]
    )["SubscriptionArn"]
    return arn, {}


def _create_queue(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    name = properties.get("QueueName", stack.physical_name(logical_id))
    attributes = {
        k: str(properties[k]).lower() if isinstance(properties[k], bool) else str(properties[k])
        for k in ("MessageRetentionPeriod", "VisibilityTimeout", "SqsManagedSseEnabled")
        if k in properties
    }
    if "RedrivePolicy" in properties:  # CloudFormation takes an object; SQS itself a JSON string
        attributes["RedrivePolicy"] = json.dumps(properties["RedrivePolicy"])
    sqs = stack.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, {"Arn": arn, "QueueName": name, "QueueUrl": url}


def _create_data_stream(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    name = properties.get("Name", stack.physical_name(logical_id))
    kinesis = stack.client("kinesis")
    mode = properties.get("StreamModeDetails", {"StreamMode": "PROVISIONED"})
    shards = {"ShardCount": int(properties["ShardCount"])} if "ShardCount" in properties else {}
    kinesis.create_stream(StreamName=name, StreamModeDetails=mode, **shards)
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    return name, {"Arn": arn}


def _create_video_stream(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    arn = stack.client("kinesisvideo").create_stream(
        StreamName=properties["Name"], DataRetentionInHours=int(properties.get("DataRetentionInHours", 0))
    )["StreamARN"]
    return properties["Name"], {"Arn": arn}


def _create_key(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    metadata = stack.client("kms").create_key(Description=properties.get("Description", logical_id))["KeyMetadata"]
    return metadata["KeyId"], {"Arn": metadata["Arn"], "KeyId": metadata["KeyId"]}


def _create_bucket(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    name = properties.get("BucketName", stack.physical_name(logical_id).lower())
    s3 = stack.client("s3")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    if properties.get("VersioningConfiguration", {}).get("Status") == "Enabled":
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    if "PublicAccessBlockConfiguration" in properties:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=properties["PublicAccessBlockConfiguration"]
        )
    if properties.get("NotificationConfiguration", {}).get("EventBridgeConfiguration", {}).get("EventBridgeEnabled"):
        s3.put_bucket_notification_configuration(
            Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
    return name, {
        "Arn": f"arn:aws:s3:::{name}",
        "DomainName": f"{name}.s3.amazonaws.com",
        "RegionalDomainName": f"{name}.s3.{REGION}.amazonaws.com",
    }


def _create_collection(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    collection_id = properties["CollectionId"]
    arn = stack.client("rekognition").create_collection(CollectionId=collection_id)["CollectionArn"]
    return collection_id, {"Arn": arn}


def _create_stream_processor(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    arn = stack.client("rekognition").create_stream_processor(
        Name=properties["Name"],
        Input={"KinesisVideoStream": {"Arn": properties["KinesisVideoStream"]["Arn"]}},
        Output={"KinesisDataStream": {"Arn": properties["KinesisDataStream"]["Arn"]}},
        Settings={"FaceSearch": properties["FaceSearchSettings"]},
        RoleArn=properties["RoleArn"],
        DataSharingPreference=properties.get("DataSharingPreference", {"OptIn": False}),
    )["StreamProcessorArn"]
    return properties["Name"], {"Arn": arn}


def _create_user_pool(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    keys = (
        "AdminCreateUserConfig",
        "Policies",
        "UsernameAttributes",
        "AutoVerifiedAttributes",
        "MfaConfiguration",
        "UserPoolAddOns",
        "UserPoolTier",
        "DeletionProtection",
    )
    cognito = stack.client("cognito-idp")
    pool = cognito.create_user_pool(
        PoolName=properties.get("UserPoolName", stack.physical_name(logical_id)),
        **{key: properties[key] for key in keys if key in properties},
    )["UserPool"]
    # CloudFormation's EnabledMfas is the API's separate SetUserPoolMfaConfig call.
    if "SOFTWARE_TOKEN_MFA" in properties.get("EnabledMfas", []):
        cognito.set_user_pool_mfa_config(
            UserPoolId=pool["Id"],
            SoftwareTokenMfaConfiguration={"Enabled": True},
            MfaConfiguration=properties.get("MfaConfiguration", "OFF"),
        )
    return pool["Id"], {"Arn": pool["Arn"], "ProviderName": f"cognito-idp.{REGION}.amazonaws.com/{pool['Id']}"}


def _create_user_pool_client(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    keys = (
        "GenerateSecret",
        "ExplicitAuthFlows",
        "ReadAttributes",
        "PreventUserExistenceErrors",
        "EnableTokenRevocation",
    )
    client = stack.client("cognito-idp").create_user_pool_client(
        UserPoolId=properties["UserPoolId"],
        ClientName=properties.get("ClientName", logical_id),
        **{key: properties[key] for key in keys if key in properties},
    )["UserPoolClient"]
    return client["ClientId"], {"ClientId": client["ClientId"]}


def _create_rest_api(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    """An AWS::Serverless::Api: its id, and `<api>.Stage` (SAM's reference to the stage it creates)."""
    api_id = uuid.uuid5(uuid.NAMESPACE_DNS, stack.physical_name(logical_id)).hex[:10]
    return api_id, {"Stage": properties["StageName"], "RootResourceId": f"{api_id}root"}


def _create_rule(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    if "EventPattern" not in properties:
        return _create_placeholder(stack, logical_id, properties)
    name = properties.get("Name", stack.physical_name(logical_id))
    events = stack.client("events")
    arn = events.put_rule(Name=name, EventPattern=json.dumps(properties["EventPattern"]), State="ENABLED")["RuleArn"]
    events.put_targets(Rule=name, Targets=[{"Id": t["Id"], "Arn": t["Arn"]} for t in properties.get("Targets", [])])
    return name, {"Arn": arn}


def _create_user_pool_group(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    keys = ("Description", "Precedence")
    stack.client("cognito-idp").create_group(
        UserPoolId=properties["UserPoolId"],
        GroupName=properties["GroupName"],
        **{key: properties[key] for key in keys if key in properties},
    )
    return properties["GroupName"], {}


def _create_user_pool_user(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    keys = ("UserAttributes", "DesiredDeliveryMediums")
    user = stack.client("cognito-idp").admin_create_user(
        UserPoolId=properties["UserPoolId"],
        Username=properties["Username"],
        **{key: properties[key] for key in keys if key in properties},
    )["User"]
    return properties["Username"], {"Username": user["Username"]}


def _create_user_to_group(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    stack.client("cognito-idp").admin_add_user_to_group(
        UserPoolId=properties["UserPoolId"], Username=properties["Username"], GroupName=properties["GroupName"]
    )
    return stack.physical_name(logical_id), {}


def _create_function(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    name = properties.get("FunctionName", stack.physical_name(logical_id))
    return name, {"Arn": _arn("lambda", f"function:{name}")}


def _skip_unused_key_maths() -> None:
    """moto does RSA work the tests never use: every KMS key, even a symmetric one, gets a fresh 2048-bit key
    pair, and every Cognito user pool imports the same JSON Web Key again (about 0.2 s each, per stack). Do
    each once per test process. Asymmetric KMS keys keep their own key pairs."""
    from moto.cognitoidp import models as cognito
    from moto.kms import models as kms

    generate = kms.generate_private_key
    symmetric = functools.cache(lambda: generate("SYMMETRIC_DEFAULT"))
    kms.generate_private_key = lambda key_spec: symmetric() if key_spec == "SYMMETRIC_DEFAULT" else generate(key_spec)
    signing_key = cognito.jwk.RSAKey.import_key(cognito.load_resource("cognitoidp/resources/jwks-private.json"))
    cognito.jwk = types.SimpleNamespace(RSAKey=types.SimpleNamespace(import_key=lambda *args, **kwargs: signing_key))


_skip_unused_key_maths()


def _create_state_machine(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    """An AWS::Serverless::StateMachine: its DefinitionUri file with DefinitionSubstitutions applied as
    CloudFormation applies them (each ${Key} of the map replaced; other ${...} left alone).

    Only its ARN and definition are worked out here: moto parses a definition on creation (~0.15 s for
    the store-hours one), a cost every stack deploy would pay. Tests that run the state machine create
    it on moto with `create_state_machine_on_moto`."""
    definition = (ROOT / properties["DefinitionUri"]).read_text()
    substitutions = {key: str(value) for key, value in properties.get("DefinitionSubstitutions", {}).items()}
    definition = re.sub(r"\$\{([A-Za-z0-9_]+)\}", lambda m: substitutions.get(m.group(1), m.group(0)), definition)
    name = properties.get("Name", stack.physical_name(logical_id))
    arn = _arn("states", f"stateMachine:{name}")
    return arn, {"Arn": arn, "Name": name, "Definition": definition, "Type": properties.get("Type", "STANDARD")}


def create_state_machine_on_moto(stack: Stack, logical_id: str) -> str:
    """Create a template state machine on moto (Step Functions), as deployed; returns its ARN."""
    stack.deploy_resource(logical_id)  # a no-op when already deployed
    attributes = stack.attributes[logical_id]
    tracing = stack.resolve(stack.resources[logical_id]["Properties"].get("Tracing", {}))
    arn = stack.client("stepfunctions").create_state_machine(
        name=attributes["Name"],
        definition=attributes["Definition"],
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/{attributes['Name']}-role",
        type=attributes["Type"],
        tracingConfiguration={"enabled": bool(tracing.get("Enabled"))},
    )["stateMachineArn"]
    assert arn == attributes["Arn"], f"moto named {logical_id} {arn}, the stack said {attributes['Arn']}"
    return arn


def _create_ssm_parameter(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    name = properties.get("Name", stack.physical_name(logical_id))
    stack.client("ssm").put_parameter(Name=name, Value=str(properties["Value"]), Type=properties.get("Type", "String"))
    return name, {"Type": properties.get("Type", "String"), "Value": properties["Value"]}


def _create_schedule_group(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    name = properties.get("Name", stack.physical_name(logical_id))
    arn = stack.client("scheduler").create_schedule_group(Name=name)["ScheduleGroupArn"]
    return name, {"Arn": arn}


def _create_schedule(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    name = properties.get("Name", stack.physical_name(logical_id))
    args = {
        k: properties[k]
        for k in (
            "GroupName",
            "Description",
            "ScheduleExpression",
            "ScheduleExpressionTimezone",
            "FlexibleTimeWindow",
            "Target",
            "State",
        )
        if k in properties
    }
    arn = stack.client("scheduler").create_schedule(Name=name, **args)["ScheduleArn"]
    return name, {"Arn": arn}


def _create_alarm(stack: Stack, logical_id: str, properties: dict) -> tuple[Any, dict]:
    name = properties.get("AlarmName", stack.physical_name(logical_id))
    keys = (
        "AlarmDescription",
        "Namespace",
        "MetricName",
        "Dimensions",
        "Statistic",
        "Period",
        "EvaluationPeriods",
        "DatapointsToAlarm",
        "Threshold",
        "ComparisonOperator",
        "TreatMissingData",
        "AlarmActions",
        "OKActions",
    )
    if "MetricName" not in properties:  # metric-math alarms: kept as placeholders
        return name, {"Arn": _arn("cloudwatch", f"alarm:{name}")}
    arguments = {key: properties[key] for key in keys if key in properties}
    arguments["Threshold"] = float(arguments["Threshold"])
    for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
        if key in arguments:
            arguments[key] = int(arguments[key])
    stack.client("cloudwatch").put_metric_alarm(AlarmName=name, **arguments)
    return name, {"Arn": _arn("cloudwatch", f"alarm:{name}")}


_CREATORS = {
    "AWS::CloudWatch::Alarm": _create_alarm,
    "AWS::DynamoDB::Table": _create_table,
    "AWS::AppSync::Api": _create_event_api,
    "AWS::CloudFront::Distribution": _create_cloudfront,
    "AWS::CloudFront::OriginAccessControl": _create_cloudfront,
    "AWS::CloudFront::ResponseHeadersPolicy": _create_cloudfront,
    "AWS::AppSync::ChannelNamespace": _create_channel_namespace,
    "AWS::SNS::Topic": _create_topic,
    "AWS::SNS::Subscription": _create_subscription,
    "AWS::SQS::Queue": _create_queue,
    "AWS::Kinesis::Stream": _create_data_stream,
    "AWS::KinesisVideo::Stream": _create_video_stream,
    "AWS::KMS::Key": _create_key,
    "AWS::S3::Bucket": _create_bucket,
    "AWS::Rekognition::Collection": _create_collection,
    "AWS::Rekognition::StreamProcessor": _create_stream_processor,
    "AWS::Serverless::Function": _create_function,
    "AWS::Serverless::Api": _create_rest_api,
    "AWS::Events::Rule": _create_rule,
    "AWS::Cognito::UserPool": _create_user_pool,
    "AWS::Cognito::UserPoolClient": _create_user_pool_client,
    "AWS::Cognito::UserPoolGroup": _create_user_pool_group,
    "AWS::Cognito::UserPoolUser": _create_user_pool_user,
    "AWS::Cognito::UserPoolUserToGroupAttachment": _create_user_to_group,
    "AWS::Serverless::StateMachine": _create_state_machine,
    "AWS::SSM::Parameter": _create_ssm_parameter,
    "AWS::Scheduler::ScheduleGroup": _create_schedule_group,
    "AWS::Scheduler::Schedule": _create_schedule,
}
