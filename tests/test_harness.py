"""The harness itself: template.yaml stands up on moto and the Rekognition fake keeps honest state."""

import boto3
import cv2
import pytest
from botocore.exceptions import ClientError
from skimage import data
from stack import Stack


def _jpeg(rgb) -> bytes:
    return cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()


def test_template_resources_exist_on_moto_with_the_templates_keys(stack):
    dynamodb = boto3.client("dynamodb")
    people = dynamodb.describe_table(TableName=stack.ref("PeopleTable"))["Table"]
    assert people["KeySchema"] == [{"AttributeName": "person_id", "KeyType": "HASH"}]
    ttl = dynamodb.describe_time_to_live(TableName=stack.ref("VisitsTable"))["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"
    assert boto3.client("kinesisvideo").describe_stream(StreamName=f"{stack.name}-entrance")["StreamInfo"]


def test_stream_processors_exist_only_in_stream_processor_mode(stack_factory, rekognition):
    stack_factory(DetectionMode="FrameSearch")
    assert rekognition.processors == {}
    stack = stack_factory(DetectionMode="StreamProcessor", Cameras="entrance,till")
    assert sorted(rekognition.processors) == [f"{stack.name}-entrance", f"{stack.name}-till"]
    settings = rekognition.processors[f"{stack.name}-entrance"].settings
    assert settings["Settings"]["FaceSearch"]["FaceMatchThreshold"] == 85
    assert settings["DataSharingPreference"] == {"OptIn": False}


def test_function_environment_comes_from_the_template(stack):
    env = stack.function_environment("MatchFunction")
    assert env["PEOPLE_TABLE"] == stack.ref("PeopleTable")
    assert env["ALERTS_TOPIC_ARN"].startswith("arn:aws:sns:")
    assert env["POWERTOOLS_SERVICE_NAME"] == "greeter"


def test_bad_parameters_are_refused_like_cloudformation_would(aws):
    with pytest.raises(ValueError, match="DetectionMode"):
        Stack({"AlertEmails": "a@example.com", "DetectionMode": "Magic"})


def test_fake_indexes_searches_and_deletes_real_faces(stack, rekognition):
    client = boto3.client("rekognition")
    collection = stack.ref("FaceCollection")
    astronaut = _jpeg(data.astronaut())
    indexed = client.index_faces(CollectionId=collection, Image={"Bytes": astronaut}, ExternalImageId="p-1", MaxFaces=1)
    face_id = indexed["FaceRecords"][0]["Face"]["FaceId"]
    flipped = _jpeg(data.astronaut()[:, ::-1])
    found = client.search_faces_by_image(CollectionId=collection, Image={"Bytes": flipped}, FaceMatchThreshold=85)
    assert found["FaceMatches"][0]["Face"]["ExternalImageId"] == "p-1"
    assert found["FaceMatches"][0]["Similarity"] > 95
    other = _jpeg(data.camera()[..., None].repeat(3, axis=2))
    assert client.search_faces_by_image(CollectionId=collection, Image={"Bytes": other})["FaceMatches"] == []
    client.delete_faces(CollectionId=collection, FaceIds=[face_id])
    assert client.search_faces_by_image(CollectionId=collection, Image={"Bytes": flipped})["FaceMatches"] == []
    with pytest.raises(ClientError, match="no faces"):
        client.search_faces_by_image(CollectionId=collection, Image={"Bytes": _jpeg(data.coffee())})
    with pytest.raises(ClientError) as error:
        client.detect_faces(Image={"Bytes": b"not an image"})
    assert error.value.response["Error"]["Code"] == "InvalidImageFormatException"


def test_fake_injects_errors_and_stream_processor_states(stack_factory, rekognition):
    stack = stack_factory(DetectionMode="StreamProcessor")
    client = boto3.client("rekognition", config=__import__("botocore").config.Config(retries={"total_max_attempts": 1}))
    name = f"{stack.name}-entrance"
    rekognition.fail("StartStreamProcessor", "ThrottlingException")
    with pytest.raises(ClientError, match="Throttling"):
        client.start_stream_processor(Name=name)
    client.start_stream_processor(Name=name)
    assert client.describe_stream_processor(Name=name)["Status"] == "RUNNING"
    with pytest.raises(ClientError, match="ResourceInUse"):
        client.start_stream_processor(Name=name)
