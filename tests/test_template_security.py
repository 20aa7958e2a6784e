"""Security by default, checked on template.yaml in both detection modes: private and encrypted storage,
TLS-only access, least-privilege IAM, logs kept for a set time, tracing on."""

import json
import sys

import pytest
from stack import ROOT, Stack
from translated import AWS_MANAGED_POLICIES, function_role, role_statements, translated_resources

# Actions AWS offers no resource-level permission for (so `Resource: "*"` is the only option).
RESOURCELESS_ACTIONS = {
    "rekognition:DetectFaces",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
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


def _iam_statements(stack):
    """(role or policy, where it comes from, statement) for every IAM statement in the translated template:
    functions' and state machines' roles as SAM generates them (policy templates expanded, the managed policies
    SAM adds), the template's own roles, and AWS::IAM::Policy / RolePolicy / ManagedPolicy resources."""
    resources = translated_resources(stack)
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::IAM::Role":
            for source, statement in role_statements(stack, logical_id):
                yield logical_id, source, statement
        elif resource["Type"] == "AWS::IAM::ManagedPolicy":
            for statement in stack.resolve(resource["Properties"]["PolicyDocument"])["Statement"]:
                yield logical_id, logical_id, statement


# AWS-managed policies accepted although they name "*" for actions that could be scoped, and why.
ACCEPTED_AWS_MANAGED = {
    # SAM attaches it to every function role it generates; writes only (no reads), and each function writes
    # /aws/lambda/<its name>. The match function, which SAM would also give Kinesis reads, has its own role.
    "service-role/AWSLambdaBasicExecutionRole",
    # API Gateway's one logging role per account and region writes every REST API's logs, by design.
    "service-role/AmazonAPIGatewayPushToCloudWatchLogs",
}


def test_no_wildcard_resources_or_full_access_in_the_translated_template(template):
    roles = set()
    for logical_id, source, statement in _iam_statements(template):
        roles.add(logical_id)
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            assert not action.endswith(":*") and action != "*", f"{source} grants {action}"
        resources = statement.get("Resource", [])
        resources = resources if isinstance(resources, list) else [resources]
        if "*" in resources and statement["Effect"] == "Allow" and not set(actions) <= RESOURCELESS_ACTIONS:
            accepted = any(source.endswith(f"AWS-managed {name}") for name in ACCEPTED_AWS_MANAGED)
            assert accepted, f"{source} grants {sorted(set(actions) - RESOURCELESS_ACTIONS)} on every resource"
    # The roles SAM generates are checked too (they exist only in the translated template).
    assert {"RegistrationFunctionRole", "StoreHoursStateMachineRole", "MatchFunctionRole"} <= roles


def test_the_match_function_reads_only_its_modes_detection_stream_or_queue(template):
    role = function_role(template, "MatchFunction")
    statements = role_statements(template, role)
    # Neither of SAM's roles for a stream- or queue-triggered function (reads on every stream or queue).
    assert not [source for source, _ in statements if "AWSLambdaKinesisExecutionRole" in source]
    assert not [source for source, _ in statements if "AWSLambdaSQSQueueExecutionRole" in source]
    source = {"FrameSearch": "DetectionQueue", "StreamProcessor": "DetectionStream"}[
        template.parameters["DetectionMode"]
    ]
    reads = [
        s
        for _, s in statements
        if any(
            str(a).startswith(("kinesis:", "sqs:ReceiveMessage", "sqs:DeleteMessage")) for a in _listify(s["Action"])
        )
    ]
    assert reads and all(_listify(s["Resource"]) == [template.get_att(source, "Arn")] for s in reads)


def test_an_aws_managed_policy_granting_reads_everywhere_fails_the_check(template):
    """The check itself: SAM's default role for a Kinesis-triggered function is refused."""
    grants = AWS_MANAGED_POLICIES["service-role/AWSLambdaKinesisExecutionRole"][0]
    assert not set(grants["Action"]) <= RESOURCELESS_ACTIONS and grants["Resource"] == "*"
    assert "service-role/AWSLambdaKinesisExecutionRole" not in ACCEPTED_AWS_MANAGED


def _listify(value) -> list:
    return value if isinstance(value, list) else [value]


def test_every_function_traces_and_keeps_logs_for_a_set_time(template):
    globals_ = template.template["Globals"]["Function"]
    assert globals_["Tracing"] == "Active"
    assert globals_["Runtime"] == "python3.13" and globals_["Architectures"] == ["arm64"]
    log_groups = {
        lid: r.get("Properties", {}) for lid, r in template.resources.items() if r["Type"] == "AWS::Logs::LogGroup"
    }
    for logical_id, resource in template.resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        assert resource["Properties"].get("Runtime", "python3.13") == "python3.13", logical_id
        # The function's own log group (LoggingConfig.LogGroup), or Lambda's default /aws/lambda/<function name>.
        own = resource["Properties"].get("LoggingConfig", {}).get("LogGroup", {}).get("Ref")
        groups = [log_groups[own]] if own else [p for p in log_groups.values() if f"${{{logical_id}}}" in json.dumps(p)]
        assert any("RetentionInDays" in group for group in groups), f"{logical_id} has no log group with a retention"


def test_staff_sign_in_needs_an_authenticator_code_and_never_sends_the_password(template):
    (pool,) = _resources(template, "AWS::Cognito::UserPool").values()
    assert pool["MfaConfiguration"] == "ON" and pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    # Threat protection (compromised credentials, risky sign-ins) acts, not only logs; it needs the Plus plan.
    assert pool["UserPoolAddOns"] == {"AdvancedSecurityMode": "ENFORCED"} and pool["UserPoolTier"] == "PLUS"
    (risk,) = _resources(template, "AWS::Cognito::UserPoolRiskConfigurationAttachment").values()
    assert risk["CompromisedCredentialsRiskConfiguration"]["Actions"]["EventAction"] == "BLOCK"
    assert risk["AccountTakeoverRiskConfiguration"]["Actions"]["HighAction"]["EventAction"] == "BLOCK"
    for client in _resources(template, "AWS::Cognito::UserPoolClient").values():
        assert set(client["ExplicitAuthFlows"]) == {"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
        assert client["GenerateSecret"] is False


@pytest.mark.parametrize("logical_id", ["PeopleTable", "StaffUserPool", "ErasureAuditTable"])
def test_registrations_and_staff_accounts_outlive_the_stack(template, logical_id):
    resource = template.resources[logical_id]
    assert resource["DeletionPolicy"] == "Retain" and resource["UpdateReplacePolicy"] == "Retain"
    properties = resource["Properties"]
    assert properties.get("DeletionProtectionEnabled") is True or properties.get("DeletionProtection") == "ACTIVE"


def test_every_bucket_aborts_broken_uploads(template):
    for logical_id, bucket in _resources(template, "AWS::S3::Bucket").items():
        rules = bucket["LifecycleConfiguration"]["Rules"]
        assert any(
            rule["Status"] == "Enabled" and "Prefix" not in rule and rule.get("AbortIncompleteMultipartUpload")
            for rule in rules
        ), f"{logical_id} keeps the parts of broken uploads"


def _web_acl(stack):
    (acl,) = _resources(stack, "AWS::WAFv2::WebACL").values()
    return acl


@pytest.fixture
def firewalled(aws):
    return Stack({"AlertEmails": "a@example.com", "ApiFirewall": "Enabled"})


def test_the_firewall_guards_the_api_stage_when_enabled(firewalled):
    template = firewalled
    acl = _web_acl(template)
    assert acl["Scope"] == "REGIONAL" and acl["DefaultAction"] == {"Allow": {}}
    rules = {rule["Name"]: rule for rule in acl["Rules"]}
    rate = rules["RequestsPerAddress"]["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "IP" and int(rate["Limit"]) == 1000
    managed = {
        rule["Statement"]["ManagedRuleGroupStatement"]["Name"]: rule
        for rule in acl["Rules"]
        if "ManagedRuleGroupStatement" in rule["Statement"]
    }
    assert set(managed) == {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}
    assert all(rule["OverrideAction"] == {"None": {}} for rule in managed.values())  # they block, not only count
    (association,) = _resources(template, "AWS::WAFv2::WebACLAssociation").values()
    api, stage = template.ref("RegistrationApi"), template.resources["RegistrationApi"]["Properties"]["StageName"]
    assert association["ResourceArn"] == f"arn:aws:apigateway:eu-west-1::/restapis/{api}/stages/{stage}"
    assert association["WebACLArn"] == template.get_att("RegistrationApiWebAcl", "Arn")


def test_the_firewall_lets_photo_uploads_through(firewalled):
    """Registrations, added photos and searches carry a base64 photo of up to ~4.4 MB; the common rule set
    blocks any body over 8 KB, so that one rule only counts."""
    sys.path.insert(0, str(ROOT / "tools"))
    import greeter_staff

    assert greeter_staff.MAX_PHOTO_BYTES * 4 / 3 > 8 * 1024
    (common,) = [
        rule["Statement"]["ManagedRuleGroupStatement"]
        for rule in _web_acl(firewalled)["Rules"]
        if rule["Statement"].get("ManagedRuleGroupStatement", {}).get("Name") == "AWSManagedRulesCommonRuleSet"
    ]
    assert common["RuleActionOverrides"] == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]


def test_without_the_firewall_by_default_the_api_still_admits_no_anonymous_request(template):
    assert not [r for r in template.resources.values() if r["Type"].startswith("AWS::WAFv2::")]
    api = template.resolve(template.resources["RegistrationApi"]["Properties"])
    assert api["Auth"]["DefaultAuthorizer"] == "StaffUserPool"
    assert int(api["MethodSettings"][0]["ThrottlingRateLimit"]) == 10


@pytest.mark.parametrize(
    "parameters, expected",
    [
        ({"AlertEmails": "a@example.com,b@example.com"}, "a@example.com"),
        ({"AlertEmails": "a@example.com", "OpsEmail": "ops@example.com"}, "ops@example.com"),
    ],
)
def test_someone_always_receives_the_ops_alarms(aws, parameters, expected):
    stack = Stack(parameters).deploy()
    subscriptions = stack.client("sns").list_subscriptions_by_topic(TopicArn=stack.ref("OpsTopic"))["Subscriptions"]
    assert [s["Endpoint"] for s in subscriptions] == [expected]
    assert stack.resolve(stack.template["Outputs"]["OpsAlarmsEmail"]["Value"]) == expected
