"""The local runtime's parts, each against what it stands in for: the AWS environment its processes get, the
EventBridge Scheduler's expressions, the state kept across restarts, API Gateway's proxy event and authorizer."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import boto3
import pytest
from moto import mock_aws
from stack import ROOT, Stack
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Request

from local.front import Front, this_machine_only
from local.rekognition import FakeRekognition, install
from local.runtime import ACCESS_KEY_ID, aws_environment
from local.sample_video import visitor_photo
from local.state import StateStore
from local.store_hours import Scheduler, due

# Every AWS service the functions, the camera and the runtime call.
SERVICES = (
    "s3",
    "dynamodb",
    "rekognition",
    "kinesis",
    "sns",
    "sqs",
    "kinesisvideo",
    "cognito-idp",
    "ssm",
    "kms",
    "stepfunctions",
    "scheduler",
    "events",
    "lambda",
    "kinesis-video-archived-media",
)
PROBE = """
import json, os, boto3
session = boto3.session.Session()
credentials = session.get_credentials().get_frozen_credentials()
services = json.loads(os.environ["PROBED_SERVICES"])
endpoints = {s: session.client(s).meta.endpoint_url for s in services}
print(json.dumps({"key": credentials.access_key, "region": session.region_name, "endpoints": endpoints}))
"""


def test_the_processes_get_only_local_credentials_and_every_endpoint_is_the_local_server(tmp_path):
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text("[real]\naws_access_key_id = AKIAREAL\naws_secret_access_key = x\n")
    (home / ".aws" / "config").write_text("[profile real]\nregion = us-east-1\nendpoint_url = https://real.example\n")
    machine = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "AWS_PROFILE": "real",
        "AWS_ACCESS_KEY_ID": "AKIAREALFROMENV",
        "AWS_SECRET_ACCESS_KEY": "real",
        "AWS_SESSION_TOKEN": "real",
        "AWS_ENDPOINT_URL_S3": "https://s3.real.example",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.2/creds",
    }
    env = aws_environment("http://127.0.0.1:4566", base=machine)
    env["PROBED_SERVICES"] = json.dumps(SERVICES)
    probe = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    seen = json.loads(probe.stdout)
    assert seen["key"] == ACCESS_KEY_ID and seen["region"] == "eu-west-1"
    assert seen["endpoints"] == {service: "http://127.0.0.1:4566" for service in SERVICES}
    assert {"127.0.0.1", "localhost"} <= set(env["NO_PROXY"].split(","))


STORE = ZoneInfo("Europe/Lisbon")


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=STORE)


@pytest.mark.parametrize(
    ("expression", "since", "until", "fires"),
    [
        ("cron(5/10 * * * ? *)", "2026-12-01T10:04:00", "2026-12-01T10:05:00", True),
        ("cron(5/10 * * * ? *)", "2026-12-01T10:05:00", "2026-12-01T10:14:59", False),
        ("cron(5/10 * * * ? *)", "2026-12-01T10:14:00", "2026-12-01T10:16:00", True),
        ("cron(0 9 ? * MON-FRI *)", "2026-12-05T08:59:00", "2026-12-05T09:01:00", False),  # a Saturday
        ("cron(0 9 ? * MON-FRI *)", "2026-12-04T08:59:00", "2026-12-04T09:01:00", True),  # a Friday
        ("at(2026-12-01T09:00:00)", "2026-12-01T08:59:55", "2026-12-01T09:00:00", True),
        ("at(2026-12-01T09:00:00)", "2026-12-01T09:00:00", "2026-12-01T09:00:05", False),
        ("rate(10 minutes)", "2026-12-01T10:09:59", "2026-12-01T10:10:01", True),
    ],
)
def test_schedules_fire_when_eventbridge_scheduler_would(expression, since, until, fires):
    assert due(expression, "Europe/Lisbon", _at(since), _at(until)) is fires


def test_a_fired_one_time_schedule_marked_delete_is_gone_and_the_others_stay(aws):
    """As EventBridge Scheduler does with ActionAfterCompletion DELETE (the store-hours opening/closing ones)."""
    stack = Stack({"AlertEmails": "staff@example.com"})
    group = stack.ref("StoreHoursScheduleGroup")
    machine = boto3.client("stepfunctions").create_state_machine(
        name="pass",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::123456789012:role/pass",
    )["stateMachineArn"]
    scheduler = boto3.client("scheduler")
    target = {"Arn": machine, "RoleArn": "arn:aws:iam::123456789012:role/run", "Input": '{"trigger": "closing"}'}
    for name, after in (("closing-20260511T1700Z", "DELETE"), ("kept-20260511T1700Z", "NONE")):
        scheduler.create_schedule(
            Name=name,
            GroupName=group,
            ScheduleExpression="at(2026-05-11T18:00:00)",
            ScheduleExpressionTimezone="Europe/London",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target=target,
            ActionAfterCompletion=after,
        )
    local = Scheduler(stack, machine)
    london = ZoneInfo("Europe/London")
    local._fire_due(datetime(2026, 5, 11, 17, 59, 30, tzinfo=london), datetime(2026, 5, 11, 18, 0, 5, tzinfo=london))
    assert sorted(source for source, _ in local.fired) == ["closing-20260511T1700Z", "kept-20260511T1700Z"]
    names = {s["Name"] for s in scheduler.list_schedules(GroupName=group)["Schedules"]}
    assert "closing-20260511T1700Z" not in names and "kept-20260511T1700Z" in names


def test_people_photos_faces_and_staff_accounts_survive_a_restart(tmp_path):
    saved = tmp_path / "state.json"
    photo = visitor_photo()
    for run in ("first", "second"):
        fake = FakeRekognition()
        uninstall = install(fake)
        try:
            with mock_aws():
                stack = Stack({"AlertEmails": "staff@example.com"}, name="greeter-local").deploy()
                store = StateStore(stack, fake, saved)
                rekognition = boto3.client("rekognition", region_name="eu-west-1")
                cognito = boto3.client("cognito-idp", region_name="eu-west-1")
                pool, client = stack.ref("StaffUserPool"), stack.ref("StaffUserPoolClient")
                if run == "first":
                    face = rekognition.index_faces(
                        CollectionId=stack.ref("FaceCollection"), Image={"Bytes": photo}, ExternalImageId="p-1"
                    )["FaceRecords"][0]["Face"]["FaceId"]
                    boto3.client("dynamodb", region_name="eu-west-1").put_item(
                        TableName=stack.ref("PeopleTable"),
                        Item={"person_id": {"S": "p-1"}, "name": {"S": "Ana"}, "face_ids": {"SS": [face]}},
                    )
                    boto3.client("s3", region_name="eu-west-1").put_object(
                        Bucket=stack.ref("PhotosBucket"), Key="people/p-1/1.jpg", Body=photo
                    )
                    cognito.admin_create_user(UserPoolId=pool, Username="a@example.com", MessageAction="SUPPRESS")
                    cognito.admin_set_user_password(
                        UserPoolId=pool, Username="a@example.com", Password="Local-Password-1", Permanent=True
                    )
                    store.save()
                    continue
                assert store.restore() == {"people": 1, "faces": 1, "photos": 1, "staff": 1}
                item = boto3.client("dynamodb", region_name="eu-west-1").get_item(
                    TableName=stack.ref("PeopleTable"), Key={"person_id": {"S": "p-1"}}
                )["Item"]
                assert item["name"]["S"] == "Ana"
                stored = boto3.client("s3", region_name="eu-west-1").get_object(
                    Bucket=stack.ref("PhotosBucket"), Key="people/p-1/1.jpg"
                )
                assert stored["Body"].read() == photo
                # The face is found again, under the same face id the person's row keeps.
                [match] = rekognition.search_faces_by_image(
                    CollectionId=stack.ref("FaceCollection"), Image={"Bytes": photo}
                )["FaceMatches"]
                assert match["Face"]["FaceId"] in item["face_ids"]["SS"] and match["Similarity"] > 99
                signed_in = cognito.admin_initiate_auth(
                    UserPoolId=pool,
                    ClientId=client,
                    AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                    AuthParameters={"USERNAME": "a@example.com", "PASSWORD": "Local-Password-1"},
                )
                assert "AuthenticationResult" in signed_in or signed_in["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
        finally:
            uninstall()


def _front(stack: Stack) -> Front:
    return Front(stack, None, "http://127.0.0.1:1", dict, Path("."), None, None, lambda: None)


def _request(path: str, method: str = "GET", **kwargs) -> Request:
    return Request(EnvironBuilder(path=path, method=method, **kwargs).get_environ())


def test_the_api_front_builds_api_gateways_proxy_event_from_a_real_sign_in(stack):
    cognito = boto3.client("cognito-idp", region_name="eu-west-1")
    pool, client = stack.ref("StaffUserPool"), stack.ref("StaffUserPoolClient")
    cognito.admin_create_user(UserPoolId=pool, Username="maria@example.com", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(
        UserPoolId=pool, Username="maria@example.com", Password="Pass-word-12", Permanent=True
    )
    token = cognito.admin_initiate_auth(
        UserPoolId=pool,
        ClientId=client,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "maria@example.com", "PASSWORD": "Pass-word-12"},
    )["AuthenticationResult"]
    front = _front(stack)

    claims = front.authorizer.claims(token["IdToken"])
    assert claims["email"] == "maria@example.com" and claims["token_use"] == "id" and claims["aud"] == client
    assert all(isinstance(value, str) for value in claims.values())
    assert front.authorizer.claims(token["AccessToken"]) is None  # an access token is not what the API takes
    assert front.authorizer.claims(token["IdToken"][:-4] + "AAAA") is None  # a forged signature

    person = "3f1c2b9e-8d4a-4c51-9f0e-7a2b6c8d1e42"
    route = front.routes.match("GET", f"/people/{person}")
    assert route == ("/people/{person_id}", {"person_id": person})
    assert front.routes.match("PUT", f"/people/{person}") is None
    event = front.proxy_event(
        _request(f"/v1/people/{person}", query_string="x=1"), f"/people/{person}", route, claims, b""
    )
    sample = json.loads((ROOT / "events" / "registration-get-person.json").read_text())
    assert set(event) == set(sample)
    assert set(event["requestContext"]) <= set(sample["requestContext"])
    assert event["requestContext"]["authorizer"]["claims"] == claims
    assert event["pathParameters"] == {"person_id": person} and event["queryStringParameters"] == {"x": "1"}
    assert event["requestContext"]["path"] == f"/v1/people/{person}"
    # Refusals are the template's GatewayResponses.
    refused = front.dispatch(_request("/v1/people", headers={"Authorization": "nope"}))
    assert refused.status_code == 401 and refused.get_json()["code"] == "unauthorized"
    assert front.dispatch(_request("/v1/nowhere")).get_json()["code"] == "not_found"


def test_the_staff_cli_sends_tokens_in_the_clear_only_to_this_machine():
    sys.path.insert(0, str(ROOT / "tools"))
    import greeter_staff

    greeter_staff.StaffApi("http://127.0.0.1:8765/v1", lambda: "token")  # make local's API
    greeter_staff.StaffApi("https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1", lambda: "token")
    for elsewhere in ("http://shop.example.com/v1", "http://127.0.0.1.example.com/v1"):
        with pytest.raises(greeter_staff.StaffError, match="https://"):
            greeter_staff.StaffApi(elsewhere, lambda: "token")


def test_the_staff_app_gets_the_templates_security_headers_and_the_test_routes_exist_only_when_asked(stack, tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>Greeter</title>")
    front = Front(stack, None, "http://127.0.0.1:4566", dict, Path("."), None, tmp_path, lambda: None)
    page = front.dispatch(_request("/"))
    policy = dict(part.split(" ", 1) for part in page.headers["Content-Security-Policy"].split("; "))
    # The template's policy, with the photos bucket's links on the local S3 (path style) instead of AWS's.
    assert policy["img-src"] == f"'self' blob: data: http://127.0.0.1:4566/{stack.ref('PhotosBucket')}/"
    assert policy["script-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["X-Content-Type-Options"] == "nosniff"
    # `make local` serves no control routes: any page open in the laptop's browser could call 127.0.0.1.
    assert front.dispatch(_request("/local/test/reset", method="POST")).status_code == 404

    calls = []

    class Controls:
        def handle(self, method, what, request):
            calls.append((method, what))
            return 200, {"done": what}

    tested = Front(
        stack, None, "http://127.0.0.1:4566", dict, Path("."), None, tmp_path, lambda: None, None, Controls()
    )
    assert tested.dispatch(_request("/local/test/reset", method="POST")).get_json() == {"done": "reset"}
    assert calls == [("POST", "reset")]


@pytest.mark.parametrize(
    ("host", "status"),
    [("127.0.0.1:8765", 200), ("localhost:8765", 200), ("LOCALHOST", 200), ("rebound.example:8765", 421), ("", 421)],
)
def test_the_local_servers_answer_only_to_this_machines_names(host, status):
    """A page that points its own domain at 127.0.0.1 (DNS rebinding) still sends that domain as its Host."""

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"registered faces"]

    answer = Client(this_machine_only(app)).get("/", headers={"Host": host})
    assert answer.status_code == status
    assert (b"registered faces" in answer.data) is (status == 200)
