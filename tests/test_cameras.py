"""Any number of cameras and alert addresses: template.yaml loops over the Cameras and AlertEmails lists with
Fn::ForEach, and local/stack.py expands the loops as CloudFormation's AWS::LanguageExtensions transform does,
so every camera gets its stream, its processor (StreamProcessor mode) and permissions naming exactly its own
stream and processor, never <stack>-* (which would also cover a store named <stack>-x)."""

import json

import pytest
from iam import Call, allows, attached_policies, function_policy
from stack import ACCOUNT, REGION, Stack

SIX = ["entrance", "till", "back-door", "stock-room", "cafe2", "exit"]


def _actions(statement: dict) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


def _granted(statements: list[dict], action: str) -> list[str]:
    """Every resource the statements allow `action` on."""
    resources = []
    for statement in statements:
        if statement["Effect"] == "Allow" and action in _actions(statement):
            resources += statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    return resources


@pytest.mark.parametrize("mode", ["FrameSearch", "StreamProcessor"])
def test_a_store_with_six_cameras_gets_each_one_its_stream_processor_permissions_and_output(
    stack_factory, rekognition, mode
):
    stack = stack_factory(Cameras=",".join(SIX), DetectionMode=mode, VideoRetentionHours=48)
    kvs = stack.client("kinesisvideo")
    streams = {c: kvs.describe_stream(StreamName=f"{stack.name}-{c}")["StreamInfo"] for c in SIX}
    arns = {c: info["StreamARN"] for c, info in streams.items()}
    # A sibling store named <stack>-back: its "door" camera's stream is <stack>-back-door's twin in name only.
    sibling = kvs.create_stream(StreamName=f"{stack.name}-back-door-2", DataRetentionInHours=1)["StreamARN"]

    assert sorted(s["StreamName"] for s in kvs.list_streams()["StreamInfoList"] if s["StreamARN"] != sibling) == sorted(
        f"{stack.name}-{c}" for c in SIX
    )
    assert {info["DataRetentionInHours"] for info in streams.values()} == {48}

    # The match function plays no video (the email links to the staff app's visit page): no camera's stream.
    match = function_policy(stack, "MatchFunction")
    assert not [s for s in match if any(a.startswith("kinesisvideo:") for a in _actions(s))]
    assert not allows(match, Call("kinesisvideo:GetHLSStreamingSessionURL", arns["entrance"]))
    # The staff app (a visit's page) plays each camera's video, and only this store's.
    staff_api = function_policy(stack, "RegistrationFunction")
    assert sorted(_granted(staff_api, "kinesisvideo:GetHLSStreamingSessionURL")) == sorted(arns.values())
    assert sorted(_granted(staff_api, "kinesisvideo:GetDataEndpoint")) == sorted(arns.values())
    assert not allows(staff_api, Call("kinesisvideo:GetHLSStreamingSessionURL", sibling))

    processors = {f"{stack.name}-{c}" for c in SIX}
    if mode == "StreamProcessor":
        assert set(rekognition.processors) == processors
        for camera in SIX:
            settings = rekognition.processors[f"{stack.name}-{camera}"].settings
            assert settings["Input"]["KinesisVideoStream"]["Arn"] == arns[camera]
            assert settings["Output"]["KinesisDataStream"]["Arn"] == stack.get_att("DetectionStream", "Arn")
        reads = [s for document in attached_policies(stack, "StreamProcessorRole") for s in document["Statement"]]
        assert sorted(_granted(reads, "kinesisvideo:GetMedia")) == sorted(arns.values())
        assert not allows(reads, Call("kinesisvideo:GetMedia", sibling))
        hours = function_policy(stack, "StoreHoursStateMachine")
        processor_arns = sorted(f"arn:aws:rekognition:{REGION}:{ACCOUNT}:streamprocessor/{p}" for p in processors)
        for action in ("Describe", "Start", "Stop"):
            assert sorted(_granted(hours, f"rekognition:{action}StreamProcessor")) == processor_arns
        # The Store screen reads each processor's state, and changes none.
        assert sorted(_granted(staff_api, "rekognition:DescribeStreamProcessor")) == processor_arns
        assert not _granted(staff_api, "rekognition:StopStreamProcessor")
        assert "FrameSearchFunction" not in stack.resources
        assert "DetectionQueue" not in stack.resources
    else:
        assert rekognition.processors == {}
        assert "StreamProcessorRole" not in stack.resources
        assert not [s for s in function_policy(stack, "StoreHoursStateMachine") if "rekognition" in str(s["Action"])]
        frame_search = function_policy(stack, "FrameSearchFunction")
        assert sorted(_granted(frame_search, "kinesisvideo:DescribeStream")) == sorted(arns.values())
        assert not allows(frame_search, Call("kinesisvideo:DescribeStream", sibling))
        assert stack.function_environment("FrameSearchFunction")["CAMERAS"] == ",".join(SIX)
        # However many cameras, their records share one queue (and no data stream bills by the hour).
        assert "DetectionStream" not in stack.resources
        assert stack.outputs()["DetectionQueueUrl"] == stack.ref("DetectionQueue")

    # Each camera's resources and outputs carry its name without the dashes: back-door -> backdoor.
    outputs = stack.outputs()
    assert {
        key: value for key, value in outputs.items() if key.endswith("StreamName") and key != "DetectionStreamName"
    } == {f"{camera.replace('-', '')}StreamName": f"{stack.name}-{camera}" for camera in SIX}
    assert outputs["CameraNames"] == ",".join(SIX)
    substitutions = stack.resolve(stack.resources["StoreHoursStateMachine"]["Properties"])["DefinitionSubstitutions"]
    assert substitutions["CameraNames"] == ",".join(SIX)


@pytest.mark.parametrize("mode", ["FrameSearch", "StreamProcessor"])
def test_one_camera_is_the_default_and_its_resources_are_those_of_its_mode(aws, mode):
    stack = Stack({"AlertEmails": "staff@example.com", "DetectionMode": mode})
    both = ["entranceClockAlarm", "entranceRegistrationCameraPolicy", "entranceVideoStream", "entranceSilentAlarm"]
    own = {
        "FrameSearch": ["entranceFrameSearchStreamPolicy"],
        "StreamProcessor": [
            "entranceCameraWatchProcessorPolicy",
            "entranceStoreHoursProcessorPolicy",
            "entranceStreamProcessor",
            "entranceStreamProcessorVideoPolicy",
        ],
    }
    assert sorted(lid for lid in stack.resources if lid.startswith("entrance")) == sorted(both + own[mode])


@pytest.mark.parametrize(
    ("cameras", "refused"),
    [
        ("entrance,Till", "'Till'"),  # upper case: not a valid part of every AWS name it becomes
        ("entrance,front door", "'front door'"),
        ("entrance,,till", "''"),  # a stray comma
        ("entrance,till/2", "'till/2'"),
        ("-entrance", "'-entrance'"),
        ("a" * 32, "'" + "a" * 32 + "'"),
    ],
)
def test_a_camera_name_that_would_break_names_is_refused_by_the_parameters_pattern(aws, cameras, refused):
    with pytest.raises(ValueError, match=f"parameter Cameras: {refused} does not match .*lower-case letters"):
        Stack({"AlertEmails": "staff@example.com", "Cameras": cameras})


@pytest.mark.parametrize(("cameras", "second"), [("entrance,entrance", "entrance"), ("back-door,backdoor", "backdoor")])
def test_two_cameras_that_would_share_resources_are_reported_by_name(aws, cameras, second):
    # CloudFormation refuses such a template too (two resources with one logical id); this names the camera.
    expected = f"Fn::ForEach::EachCamera with Camera='{second}' makes '{second.replace('-', '')}VideoStream'"
    with pytest.raises(ValueError, match=expected):
        Stack({"AlertEmails": "staff@example.com", "Cameras": cameras})


def test_every_alert_address_gets_a_subscription_however_many_there_are(stack_factory):
    addresses = [f"staff{n}@example.com" for n in range(5)] + ["gerente.loja@example.pt"]
    stack = stack_factory(AlertEmails=" , ".join(addresses))
    sns = stack.client("sns")
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=stack.ref("AlertsTopic"))["Subscriptions"]
    assert sorted((s["Protocol"], s["Endpoint"]) for s in subscriptions) == sorted(("email", a) for a in addresses)


@pytest.mark.parametrize("emails", ["staff@example", "staff@example.com,", "staff@example.com;boss@example.com", ""])
def test_a_malformed_alert_address_list_is_refused(aws, emails):
    with pytest.raises(ValueError, match="parameter AlertEmails: .* does not match .*name@example.com"):
        Stack({"AlertEmails": emails})


@pytest.mark.parametrize("mode", ["FrameSearch", "StreamProcessor"])
def test_thirty_cameras_fit_iams_size_limit_for_a_roles_inline_policies(aws, mode):
    # IAM caps the inline policies of one role at 10,240 characters in all (whitespace not counted); every
    # camera adds one to the roles below. 30 cameras with long names in a long-named stack must still fit.
    cameras = [f"camera-number-{n:02d}" for n in range(30)]
    parameters = {"AlertEmails": "staff@example.com", "Cameras": ",".join(cameras), "DetectionMode": mode}
    stack = Stack(parameters, name="greeter-a-long-store-name-lisbon")
    roles = {}
    if mode == "FrameSearch":
        roles["FrameSearchFunction"] = "FrameSearchFunctionRole"
    else:
        roles["StoreHoursStateMachine"] = "StoreHoursStateMachineRole"
    for owner, role in roles.items():
        own = {"Version": "2012-10-17", "Statement": function_policy(stack, owner)}
        size = len(json.dumps(own, separators=(",", ":")))
        assert len(attached_policies(stack, role)) == len(cameras)
        assert size < 10_240, f"{role}: {size} characters of inline policy"
    if mode == "StreamProcessor":
        processor_role = stack.resolve(stack.resources["StreamProcessorRole"]["Properties"]["Policies"])
        documents = [p["PolicyDocument"] for p in processor_role] + attached_policies(stack, "StreamProcessorRole")
        assert sum(len(json.dumps(d, separators=(",", ":"))) for d in documents) < 10_240
