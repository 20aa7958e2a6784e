"""The registration API's resources in template.yaml: who can get in, what is logged and throttled, how the photos
are kept, and that the function may touch exactly its own resources."""

import pytest
from stack import Stack, load_template

RESOURCES = load_template()["Resources"]


def props(logical_id: str) -> dict:
    return RESOURCES[logical_id]["Properties"]


def test_staff_accounts_are_created_by_an_administrator_only():
    pool = props("StaffUserPool")
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["MfaConfiguration"] == "ON" and pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    client = props("StaffUserPoolClient")
    assert client["GenerateSecret"] is False and client["PreventUserExistenceErrors"] == "ENABLED"


def test_no_anonymous_caller_gets_in_and_the_api_is_throttled_logged_and_traced():
    api = props("RegistrationApi")
    assert api["Auth"]["DefaultAuthorizer"] == "StaffUserPool"
    events = props("RegistrationFunction")["Events"].values()
    assert all(event["Properties"]["RestApiId"] == {"Ref": "RegistrationApi"} for event in events)
    assert all("Auth" not in event["Properties"] for event in events)  # no route opts out of the authorizer
    (settings,) = api["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRate"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurst"}
    assert settings["DataTraceEnabled"] is False  # bodies (photos, names) never reach the logs
    assert api["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["RegistrationApiAccessLogs", "Arn"]}
    assert props("RegistrationApiAccessLogs")["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert api["TracingEnabled"] is True
    assert api["SecurityPolicy"].startswith("SecurityPolicy_TLS13") and api["EndpointAccessMode"] == "STRICT"
    deny = [s for s in api["Auth"]["ResourcePolicy"]["CustomStatements"] if s["Effect"] == "Deny"]
    assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_photos_bucket_is_private_encrypted_tls_only_and_versioned():
    bucket = props("PhotosBucket")
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0
    (statement,) = props("PhotosBucketPolicy")["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_erasure_audit_outlives_the_stack():
    assert RESOURCES["ErasureAuditTable"]["DeletionPolicy"] == "Retain"
    assert props("ErasureAuditTable")["DeletionProtectionEnabled"] is True
    assert props("IdempotencyTable")["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def _statements(stack: Stack) -> dict[str, dict]:
    (policy,) = stack.resolve(props("RegistrationFunction")["Policies"])
    return {statement["Sid"]: statement for statement in policy["Statement"]}


def test_the_function_may_touch_exactly_its_own_resources(stack):
    statements = _statements(stack)
    collection_arn = f"arn:aws:rekognition:eu-west-1:123456789012:collection/{stack.ref('FaceCollection')}"
    assert statements["FaceCollection"]["Resource"] == collection_arn
    assert sorted(statements["FaceCollection"]["Action"]) == [
        "rekognition:DeleteFaces",
        "rekognition:IndexFaces",
        "rekognition:ListFaces",
        "rekognition:SearchFaces",
        "rekognition:SearchFacesByImage",
    ]
    # the one "*": DetectFaces has no resource-level permission
    assert [sid for sid, s in statements.items() if s["Resource"] == "*"] == ["DetectFaces"]
    assert statements["DetectFaces"]["Action"] == "rekognition:DetectFaces"
    assert statements["People"]["Resource"] == stack.get_att("PeopleTable", "Arn")
    assert statements["EraseAlertCooldown"] == {
        "Sid": "EraseAlertCooldown",
        "Effect": "Allow",
        "Action": "dynamodb:DeleteItem",
        "Resource": stack.get_att("VisitsTable", "Arn"),
    }
    # "I'm on it" is published to the tablets on the arrivals channel, and nowhere else.
    arrivals = stack.get_att("ArrivalsNamespace", "ChannelNamespaceArn")
    assert statements["PublishAcknowledgements"] == {
        "Sid": "PublishAcknowledgements",
        "Effect": "Allow",
        "Action": "appsync:EventPublish",
        "Resource": arrivals,
    }
    assert statements["AppendErasureAudit"]["Action"] == "dynamodb:PutItem"  # append-only: no update, no delete
    assert statements["Photos"]["Resource"] == f"arn:aws:s3:::{stack.ref('PhotosBucket')}/people/*"
    actions = [a for s in statements.values() for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert not [a for a in actions if a.endswith("*")]


@pytest.mark.parametrize(("choice", "created"), [("CreateAccountRole", True), ("AccountRoleAlreadySet", False)])
def test_the_account_logging_role_is_created_only_when_asked(stack_factory, choice, created):
    stack = stack_factory(ApiGatewayLogging=choice)
    assert ("ApiGatewayAccountLogging" in stack.resources) is created
    assert ("ApiGatewayLogsRole" in stack.resources) is created


def test_the_function_gets_its_settings_from_the_template(stack):
    env = stack.function_environment("RegistrationFunction")
    assert env["PEOPLE_TABLE"] == stack.ref("PeopleTable") and env["VISITS_TABLE"] == stack.ref("VisitsTable")
    assert env["PHOTOS_BUCKET"] == stack.ref("PhotosBucket")
    assert env["FACE_COLLECTION"] == stack.ref("FaceCollection")
    assert env["MATCH_THRESHOLD"] == "85"


def test_staff_roles_are_the_user_pools_groups_and_the_first_manager_is_optional():
    groups = {props(logical_id)["GroupName"] for logical_id in ("TabletGroup", "AssistantGroup", "ManagerGroup")}
    assert groups == {"tablet", "assistant", "manager"}
    assert all(props(g)["UserPoolId"] == {"Ref": "StaffUserPool"} for g in ("TabletGroup", "AssistantGroup"))
    assert RESOURCES["FirstManager"]["Condition"] == RESOURCES["FirstManagerInManagerGroup"]["Condition"]
    assert props("FirstManagerInManagerGroup")["GroupName"] == {"Ref": "ManagerGroup"}


def test_the_staff_audit_trail_outlives_the_stack_and_is_append_only(stack):
    assert RESOURCES["StaffAuditTable"]["DeletionPolicy"] == "Retain"
    assert props("StaffAuditTable")["DeletionProtectionEnabled"] is True
    statements = _statements(stack)
    assert statements["AppendStaffAudit"]["Action"] == "dynamodb:PutItem"
    assert statements["AppendStaffAudit"]["Resource"] == stack.get_att("StaffAuditTable", "Arn")


@pytest.mark.parametrize("mode", ["FrameSearch", "StreamProcessor"])
def test_erasure_may_delete_only_match_snapshots_in_the_crops_bucket(stack_factory, mode):
    stack = stack_factory(DetectionMode=mode)
    statements = _statements(stack)
    env = stack.function_environment("RegistrationFunction")
    if mode == "StreamProcessor":
        assert "EraseMatchSnapshots" not in statements and env["SNAPSHOTS_BUCKET"] == ""
        return
    crops = stack.get_att("CropsBucket", "Arn")
    assert env["SNAPSHOTS_BUCKET"] == stack.ref("CropsBucket")
    assert statements["EraseMatchSnapshots"]["Resource"] == f"{crops}/snapshots/*"
    assert statements["EraseMatchSnapshots"]["Action"] == "s3:DeleteObject"
    assert statements["FindMatchSnapshots"]["Condition"] == {"StringLike": {"s3:prefix": "snapshots/*"}}


@pytest.mark.parametrize("mode", ["FrameSearch", "StreamProcessor"])
def test_the_store_screen_may_start_only_the_store_hours_machine_and_read_only_its_records(stack_factory, mode):
    """In the translated template (what CloudFormation deploys): an override starts exactly this stack's store-hours
    state machine; the screen reads the two store-hours parameters and, in FrameSearch mode, the detection state."""
    from iam import Call, allows, function_policy

    stack = stack_factory(DetectionMode=mode)
    policy = function_policy(stack, "RegistrationFunction")
    machine = stack.ref("StoreHoursStateMachine")
    other_machine = machine.replace("StoreHoursStateMachine", "OtherStateMachine")
    assert allows(policy, Call("states:StartExecution", machine))
    assert allows(policy, Call("states:ListExecutions", machine))
    assert not allows(policy, Call("states:StartExecution", other_machine))
    assert not allows(policy, Call("states:StopExecution", machine))
    # A retried override reads its own run by name: this machine's executions only.
    execution = machine.replace(":stateMachine:", ":execution:") + ":staff-close-0123"
    other_execution = other_machine.replace(":stateMachine:", ":execution:") + ":staff-close-0123"
    assert allows(policy, Call("states:DescribeExecution", execution))
    assert not allows(policy, Call("states:DescribeExecution", other_execution))
    assert not allows(policy, Call("states:DescribeExecution", machine))
    parameter = "arn:aws:ssm:eu-west-1:123456789012:parameter{}"
    for logical_id in ("StoreHoursSpecialDaysParameter", "StoreHoursOverrideParameter"):
        assert allows(policy, Call("ssm:GetParameter", parameter.format(stack.ref(logical_id))))
        assert not allows(policy, Call("ssm:PutParameter", parameter.format(stack.ref(logical_id))))
    env = stack.function_environment("RegistrationFunction")
    assert env["STORE_HOURS_STATE_MACHINE"] == machine and env["DETECTION_MODE"] == mode
    assert env["WEEKLY_HOURS"] == stack.function_environment("StoreHoursFunction")["WEEKLY_HOURS"]
    if mode == "FrameSearch":
        state_table = stack.get_att("FrameSearchStateTable", "Arn")
        assert env["FRAME_SEARCH_STATE_TABLE"] == stack.ref("FrameSearchStateTable")
        assert allows(policy, Call("dynamodb:BatchGetItem", state_table))
        assert not allows(policy, Call("dynamodb:UpdateItem", state_table))
    else:
        assert env["FRAME_SEARCH_STATE_TABLE"] == ""
