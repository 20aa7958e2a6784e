"""The camera credentials in template.yaml: each camera may write only its own stream and its own crops.

The stack is stood up on moto from template.yaml (tests/stack.py); the policies' resource patterns are
matched, the way IAM matches them, against the real stream ARNs and the crop keys frame search uses.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest


def statements(stack, logical_id: str) -> dict[str, dict]:
    properties = stack.resolve(stack.resources[logical_id]["Properties"])
    if "Policies" in properties:
        (policy,) = properties["Policies"]
        document = policy["PolicyDocument"]
    else:
        document = properties["PolicyDocument"]
    return {statement["Sid"]: statement for statement in document["Statement"]}


def allowed(statement: dict, variable: str, value: str, resource: str) -> bool:
    """Does `statement` cover `resource` when the policy variable `variable` is `value`?"""
    return fnmatchcase(resource, statement["Resource"].replace("${" + variable + "}", value))


CREDENTIALS = [("CameraRole", "credentials-iot:ThingName"), ("CameraAccessKeyPolicy", "aws:username")]


@pytest.mark.parametrize(("logical_id", "variable"), CREDENTIALS)
def test_a_camera_may_put_media_only_on_its_own_stream(stack_factory, logical_id, variable):
    stack = stack_factory(Cameras="entrance,counter")
    kvs = stack.client("kinesisvideo")
    entrance = kvs.describe_stream(StreamName=f"{stack.name}-entrance")["StreamInfo"]["StreamARN"]
    counter = kvs.describe_stream(StreamName=f"{stack.name}-counter")["StreamInfo"]["StreamARN"]

    put_media = statements(stack, logical_id)["PutMediaOnOwnStream"]

    assert sorted(put_media["Action"]) == [
        "kinesisvideo:DescribeStream",
        "kinesisvideo:GetDataEndpoint",
        "kinesisvideo:PutMedia",
    ]
    # Thing name (or user name) = stream name: the convention pi/provision-camera.sh follows.
    assert allowed(put_media, variable, f"{stack.name}-entrance", entrance)
    assert not allowed(put_media, variable, f"{stack.name}-entrance", counter)
    assert allowed(put_media, variable, f"{stack.name}-counter", counter)


@pytest.mark.parametrize(("logical_id", "variable"), CREDENTIALS)
def test_a_camera_may_upload_crops_only_under_its_own_prefix(stack_factory, logical_id, variable):
    stack = stack_factory(Cameras="entrance,counter", DetectionMode="FrameSearch")
    bucket = stack.ref("CropsBucket")
    own = f"arn:aws:s3:::{bucket}/crops/{stack.name}-entrance/1764000000000-0b7e2c1e-6c1f-4a55-9d0b-2f3c9a1b7e11.jpg"
    other = f"arn:aws:s3:::{bucket}/crops/{stack.name}-counter/1764000000000-0b7e2c1e-6c1f-4a55-9d0b-2f3c9a1b7e11.jpg"

    crops = statements(stack, logical_id)["PutOwnCrops"]

    assert crops["Action"] == "s3:PutObject"
    assert allowed(crops, variable, f"{stack.name}-entrance", own)
    assert not allowed(crops, variable, f"{stack.name}-entrance", other)
    assert not allowed(crops, variable, f"{stack.name}-entrance", f"arn:aws:s3:::{bucket}/faces/x.jpg")


@pytest.mark.parametrize(("logical_id", "_variable"), CREDENTIALS)
def test_without_frame_search_cameras_get_no_s3_access(stack_factory, logical_id, _variable):
    stack = stack_factory(DetectionMode="StreamProcessor")

    assert set(statements(stack, logical_id)) == {"PutMediaOnOwnStream"}


def test_certificates_may_only_use_the_stacks_role_alias(stack):
    alias = stack.resolve(stack.resources["CameraRoleAlias"]["Properties"])
    policy = stack.resolve(stack.resources["CameraIotPolicy"]["Properties"])["PolicyDocument"]
    trust = stack.resolve(stack.resources["CameraRole"]["Properties"])["AssumeRolePolicyDocument"]

    assert alias["RoleAlias"] == f"{stack.name}-camera"
    assert alias["CredentialDurationSeconds"] == 3600
    (statement,) = policy["Statement"]
    assert statement["Action"] == "iot:AssumeRoleWithCertificate"
    assert statement["Resource"] == f"arn:aws:iot:eu-west-1:123456789012:rolealias/{stack.ref('CameraRoleAlias')}"
    assert trust["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "credentials.iot.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]


def test_the_outputs_name_what_the_pi_and_the_provisioning_script_need(stack):
    outputs = stack.outputs()

    for name in ("CameraRoleAlias", "CameraIotPolicyName", "CameraAccessKeyPolicyArn", "entranceStreamName"):
        assert name in outputs
    assert outputs["entranceStreamName"] == f"{stack.name}-entrance"
