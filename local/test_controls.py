"""The local runtime's control routes for browser tests and benchmarks, under /local/test/ on its one port.

They exist only when the runtime is started with test routes (`python -m local --test-routes`,
`start_local(test_routes=True)`): `make local` has none, since any web page open in the laptop's browser could
call 127.0.0.1. Nothing like them exists in the deployed stack (API Gateway serves only the template's routes).

    POST reset                 everything back to the state at start-up: tables, buckets (every object version),
                               face collections, staff accounts, SSM parameters (store hours' override); the
                               arrivals channel's log emptied and resumed; answers the staff app's config.json
                               with the stack's `hours` (weekday -> hours) and `tables` (logical id -> name)
    POST staff                 {"email", "password", "confirmed", "totp", "role"}: a staff account in a role's
                               group (with TOTP set up when "totp"); answers {"email", "totp_secret"}
    GET  stored                {"people": [names], "faces": n, "photos": n}
    GET  person?name=N         a registered person's id and first registered photo (base64), and where this
                               runtime's cameras put their crops: what a test needs to play the camera
    GET  arrivals              every event accepted on the arrivals channel, with the time the channel got it
    GET  store-hours           the store-hours state machine's runs since the last reset, newest first
    POST events/pause|resume   drop every tablet's socket and refuse new ones (a shop's Wi-Fi dropping) / end it
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from local.sign_in import totp

if TYPE_CHECKING:
    from local.runtime import LocalRuntime

log = logging.getLogger("greeter.local")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class TestControls:
    __test__ = False  # not a pytest test class

    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime
        self.stack = runtime.stack
        self._start: dict[str, Any] = {}
        self._lock = threading.Lock()  # one reset at a time
        self._runs_before: set[str] = set()  # store-hours runs from before the last reset

    # ------------------------------------------------------------------ the state at start-up
    def _resources(self, kind: str) -> list[str]:
        return [self.stack.ref(name) for name, r in self.stack.resources.items() if r["Type"] == kind]

    def _collections(self) -> list[str]:
        return self._resources("AWS::Rekognition::Collection")

    def _items(self, table: str) -> list[dict]:
        dynamodb = self.stack.client("dynamodb")
        items = []
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            items += page["Items"]
        return items

    def _versions(self, bucket: str) -> set[tuple[str, str]]:
        s3 = self.stack.client("s3")
        found = set()
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
                found.add((version["Key"], version["VersionId"]))
        return found

    def _face_ids(self, collection: str) -> set[str]:
        answer = self.runtime.rekognition.handle("ListFaces", {"CollectionId": collection, "MaxResults": 4096})
        return {face["FaceId"] for face in answer["Faces"]}

    def _users(self) -> set[str]:
        cognito = self.stack.client("cognito-idp")
        users = set()
        for page in cognito.get_paginator("list_users").paginate(UserPoolId=self.stack.ref("StaffUserPool")):
            users |= {user["Username"] for user in page["Users"]}
        return users

    def remember_start(self) -> None:
        self._start = {
            "tables": {table: self._items(table) for table in self._resources("AWS::DynamoDB::Table")},
            "buckets": {bucket: self._versions(bucket) for bucket in self._resources("AWS::S3::Bucket")},
            "faces": {collection: self._face_ids(collection) for collection in self._collections()},
            "users": self._users(),
            "parameters": self._parameters(),
        }
        self._runs_before = {run["executionArn"] for run in self._runs()}

    def _parameters(self) -> dict[str, str]:
        ssm = self.stack.client("ssm")
        names = self._resources("AWS::SSM::Parameter")
        return {name: ssm.get_parameter(Name=name)["Parameter"]["Value"] for name in names}

    def _runs(self) -> list[dict]:
        scheduler = getattr(self.runtime, "scheduler", None)
        if scheduler is None:
            return []
        sfn = scheduler.sfn
        return sfn.list_executions(stateMachineArn=scheduler.state_machine_arn)["executions"]

    def reset(self) -> None:
        dynamodb, s3, cognito = (self.stack.client(name) for name in ("dynamodb", "s3", "cognito-idp"))
        for table, items in self._start["tables"].items():
            keys = [k["AttributeName"] for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
            for item in self._items(table):
                dynamodb.delete_item(TableName=table, Key={name: item[name] for name in keys})
            for item in items:
                dynamodb.put_item(TableName=table, Item=item)
        for bucket, kept in self._start["buckets"].items():
            extra = [{"Key": key, "VersionId": version} for key, version in self._versions(bucket) - kept]
            for start in range(0, len(extra), 1000):
                s3.delete_objects(Bucket=bucket, Delete={"Objects": extra[start : start + 1000], "Quiet": True})
        for collection, kept in self._start["faces"].items():
            extra = sorted(self._face_ids(collection) - kept)
            if extra:
                self.runtime.rekognition.handle("DeleteFaces", {"CollectionId": collection, "FaceIds": extra})
        for user in self._users() - self._start["users"]:
            cognito.admin_delete_user(UserPoolId=self.stack.ref("StaffUserPool"), Username=user)
        ssm = self.stack.client("ssm")
        for name, value in self._start["parameters"].items():
            if ssm.get_parameter(Name=name)["Parameter"]["Value"] != value:
                ssm.put_parameter(Name=name, Value=value, Overwrite=True)
        self._runs_before = {run["executionArn"] for run in self._runs()}
        events = self.runtime.events
        events.resume()
        events.published.clear()
        events.published_at.clear()
        events.refused.clear()

    # ------------------------------------------------------------------ routes
    def handle(self, method: str, what: str, request) -> tuple[int, Any]:
        if what == "reset" and method == "POST":
            with self._lock:
                began = time.monotonic()
                self.reset()
                log.debug("reset to the state at start-up in %.1f s", time.monotonic() - began)
            return 200, self.runtime.status()["staff_app_config"] | {
                "hours": {day: self.stack.resolve({"Ref": f"{day}Hours"}) for day in DAYS},
                "tables": {
                    name: self.stack.ref(name)
                    for name, resource in self.stack.resources.items()
                    if resource["Type"] == "AWS::DynamoDB::Table"
                },
            }
        if what == "staff" and method == "POST":
            answer = self.staff(**json.loads(request.get_data()))
            self.runtime._save_requested.set()
            return 201, answer
        if what == "stored" and method == "GET":
            return 200, self.stored()
        if what == "person" and method == "GET":
            return self.person(request.args.get("name", ""))
        if what == "arrivals" and method == "GET":
            events = self.runtime.events
            return 200, [
                {"channel": channel, "event": event, "received_at": at}
                for (channel, event), at in zip(events.published, events.published_at, strict=False)
            ]
        if what == "store-hours" and method == "GET":
            return 200, self.store_hours_runs()
        if what == "events/pause" and method == "POST":
            self.runtime.events.pause()
            return 200, {"paused": True}
        if what == "events/resume" and method == "POST":
            self.runtime.events.resume()
            return 200, {"paused": False}
        return 404, {"message": "no such control route"}

    def store_hours_runs(self) -> list[dict]:
        sfn = self.runtime.scheduler.sfn
        runs = sorted(
            (run for run in self._runs() if run["executionArn"] not in self._runs_before),
            key=lambda run: run["startDate"],
            reverse=True,
        )
        described = [sfn.describe_execution(executionArn=run["executionArn"]) for run in runs]
        return [{"name": r["name"], "status": r["status"], "input": json.loads(r["input"])} for r in described]

    def staff(
        self, email: str, password: str, confirmed: bool = True, totp: bool = False, role: str = "manager"
    ) -> dict:
        cognito = self.stack.client("cognito-idp")
        pool, client = self.stack.ref("StaffUserPool"), self.stack.ref("StaffUserPoolClient")
        cognito.admin_create_user(
            UserPoolId=pool,
            Username=email,
            TemporaryPassword=password,
            MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        )
        if confirmed:
            cognito.admin_set_user_password(UserPoolId=pool, Username=email, Password=password, Permanent=True)
        # The staff member's role: a group of the pool (the API lets each role do its part).
        cognito.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName=role)
        answer = {"email": email}
        if totp:  # what the staff member does once with an authenticator app
            answer["totp_secret"] = self._authenticator(cognito, pool, client, email, password)
        return answer

    @staticmethod
    def _authenticator(cognito, pool: str, client: str, email: str, password: str) -> str:
        tokens = cognito.admin_initiate_auth(
            UserPoolId=pool,
            ClientId=client,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )["AuthenticationResult"]
        secret = cognito.associate_software_token(AccessToken=tokens["AccessToken"])["SecretCode"]
        cognito.verify_software_token(AccessToken=tokens["AccessToken"], UserCode=totp(secret))
        cognito.admin_set_user_mfa_preference(
            UserPoolId=pool, Username=email, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
        )
        return secret

    def _people(self) -> list[dict]:
        return self._items(self.stack.ref("PeopleTable"))

    def stored(self) -> dict:
        photos = self._versions(self.stack.ref("PhotosBucket")) - self._start["buckets"][self.stack.ref("PhotosBucket")]
        return {
            "people": sorted(item["name"]["S"] for item in self._people() if "name" in item),
            "faces": sum(len(self._face_ids(collection)) for collection in self._collections()),
            "photos": len(photos),
        }

    def person(self, name: str) -> tuple[int, dict]:
        found = [item for item in self._people() if item.get("name", {}).get("S") == name]
        if not found:
            return 404, {"message": f"nobody called {name!r} is registered"}
        person_id = found[0]["person_id"]["S"]
        s3, bucket = self.stack.client("s3"), self.stack.ref("PhotosBucket")
        keys = sorted(
            o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"people/{person_id}/").get("Contents", [])
        )
        if not keys:
            return 404, {"message": f"{name} has no photo"}
        photo = s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read()
        return 200, {
            "person_id": person_id,
            "photo": base64.b64encode(photo).decode(),
            "crops_bucket": self.stack.ref("CropsBucket"),
            "video_stream_prefix": f"{self.stack.name}-",
        }
