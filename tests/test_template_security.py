"""Security by default, checked on template.yaml in both detection modes: private and encrypted storage,
TLS-only access, least-privilege IAM, logs kept for a set time, tracing on."""

import json

import pytest
from stack import Stack

# Actions AWS offers no resource-level permission for (so `Resource: "*"` is the only option).
RESOURCELESS_ACTIONS = {
    "rekognition:DetectFaces",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "cloudwatch:PutMetricData",
    "cloudwatch:GetMetricData",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "kms:*",  # only in key policies, where "*" means "this key"
}


@pytest.fixture(params=["FrameSearch", "StreamProcessor"])
def template(request, aws):
    parameters = {"AlertEmails": "a@example.com,b@example.com", "Cameras": "entrance,till"}
    stack = Stack({**parameters, "DetectionMode": request.param})
    return stack


def _resources(stack, kind):
    return {lid: stack.resolve(r.get("Properties", {})) for lid, r in stack.resources.items() if r["Type"] == kind}


def test_buckets_are_private_encrypted_and_tls_only(template):
    buckets = _resources(template, "AWS::S3::Bucket")
    policies = {
        stack_policy["Bucket"]: stack_policy for stack_policy in _resources(template, "AWS::S3::BucketPolicy").values()
    }
    for logical_id, properties in buckets.items():
        block = properties.get("PublicAccessBlockConfiguration", {})
        assert all(
            block.get(k) is True
            for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
        ), logical_id
        assert properties.get("BucketEncryption"), f"{logical_id} is not encrypted"
        policy = policies.get(template.ref(logical_id))
        assert policy is not None, f"{logical_id} has no bucket policy"
        assert _denies_insecure_transport(policy["PolicyDocument"]), f"{logical_id} allows plain HTTP"


def _denies_insecure_transport(document) -> bool:
    return any(
        statement["Effect"] == "Deny"
        and statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in ("false", False)
        for statement in document["Statement"]
    )


def test_data_at_rest_is_encrypted(template):
    for logical_id, properties in _resources(template, "AWS::DynamoDB::Table").items():
        assert properties.get("SSESpecification", {}).get("SSEEnabled") is True, logical_id
    for logical_id, properties in _resources(template, "AWS::SNS::Topic").items():
        assert properties.get("KmsMasterKeyId"), logical_id
    for logical_id, properties in _resources(template, "AWS::SQS::Queue").items():
        assert properties.get("SqsManagedSseEnabled") or properties.get("KmsMasterKeyId"), logical_id
    for logical_id, properties in _resources(template, "AWS::Kinesis::Stream").items():
        assert properties.get("StreamEncryption", {}).get("EncryptionType") == "KMS", logical_id


@pytest.mark.parametrize(
    "kind, policy_kind, targets",
    [("AWS::SNS::Topic", "AWS::SNS::TopicPolicy", "Topics"), ("AWS::SQS::Queue", "AWS::SQS::QueuePolicy", "Queues")],
)
def test_topics_and_queues_refuse_plain_http(template, kind, policy_kind, targets):
    covered = {
        target
        for policy in _resources(template, policy_kind).values()
        if _denies_insecure_transport(policy["PolicyDocument"])
        for target in policy[targets]
    }
    for logical_id in _resources(template, kind):
        assert template.ref(logical_id) in covered, f"{logical_id} accepts plain HTTP"


def _statements(stack):
    for logical_id, resource in stack.resources.items():
        properties = resource.get("Properties", {})
        documents = []
        if resource["Type"] == "AWS::Serverless::Function":
            for policy in properties.get("Policies", []):
                if isinstance(policy, dict) and "Statement" in policy:
                    documents.append(policy)
        if resource["Type"] == "AWS::IAM::Role":
            documents += [p["PolicyDocument"] for p in properties.get("Policies", [])]
        if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy", "AWS::IAM::RolePolicy"):
            documents.append(properties["PolicyDocument"])
        for document in documents:
            for statement in stack.resolve(document)["Statement"]:
                yield logical_id, statement


def test_no_wildcard_resources_or_full_access(template):
    for logical_id, statement in _statements(template):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            assert not action.endswith(":*") and action != "*", f"{logical_id} grants {action}"
        resources = statement.get("Resource", [])
        resources = resources if isinstance(resources, list) else [resources]
        if "*" in resources and statement["Effect"] == "Allow":
            assert set(actions) <= RESOURCELESS_ACTIONS, f"{logical_id} grants {actions} on every resource"
        for policy in template.resources[logical_id].get("Properties", {}).get("Policies", []):
            assert not (isinstance(policy, str) and "FullAccess" in policy), f"{logical_id} uses {policy}"


def test_every_function_traces_and_keeps_logs_for_a_set_time(template):
    globals_ = template.template["Globals"]["Function"]
    assert globals_["Tracing"] == "Active"
    assert globals_["Runtime"] == "python3.13" and globals_["Architectures"] == ["arm64"]
    log_groups = [
        json.dumps(r.get("Properties", {})) for r in template.resources.values() if r["Type"] == "AWS::Logs::LogGroup"
    ]
    for logical_id, resource in template.resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        assert resource["Properties"].get("Runtime", "python3.13") == "python3.13", logical_id
        assert any(f"${{{logical_id}}}" in group and "RetentionInDays" in group for group in log_groups), (
            f"{logical_id} has no log group with a retention"
        )
