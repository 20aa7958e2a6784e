"""What survives a restart of `make local`: the people registered, their photos and faces, the staff accounts,
store-hours settings. moto keeps everything in memory, so the local runtime saves it to one JSON file
(`state.json` in the state folder, replaced whole, never half-written) after every change made through the
API and when it stops, and puts it back into a freshly deployed stack when it starts.

Saved: every item of the stack's DynamoDB tables; every object of its buckets except camera crops (they live
seconds and expire within a day in AWS too); the face collection (ids, external ids and the engine's face
descriptions, embeddings included); the staff user pool's users with their passwords and TOTP settings;
the stack's SSM parameters. Physical names do not change between runs (the stack name is fixed).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from local.faces import Face
from local.rekognition import FakeRekognition, StoredFace
from local.stack import Stack

log = logging.getLogger("greeter.local")
VERSION = 1
SKIPPED_PREFIXES = ("crops/",)


def _face_json(stored: StoredFace) -> dict:
    face = stored.face
    return {
        "face_id": stored.face_id,
        "image_id": stored.image_id,
        "external_image_id": stored.external_image_id,
        "box": list(face.box),
        "landmarks": [list(point) for point in face.landmarks],
        "score": face.score,
        "image_size": list(face.image_size),
        "brightness": face.brightness,
        "sharpness": face.sharpness,
        "embedding": base64.b64encode(np.asarray(face.embedding, np.float32).tobytes()).decode(),
    }


def _face_from_json(saved: dict) -> StoredFace:
    face = Face(
        box=tuple(saved["box"]),
        landmarks=[tuple(point) for point in saved["landmarks"]],
        score=saved["score"],
        image_size=tuple(saved["image_size"]),
        brightness=saved["brightness"],
        sharpness=saved["sharpness"],
        embedding=np.frombuffer(base64.b64decode(saved["embedding"]), np.float32).copy(),
    )
    return StoredFace(saved["face_id"], saved["image_id"], saved["external_image_id"], face)


class StateStore:
    """Save the stack's data to `path` and put it back (see the module docstring)."""

    def __init__(self, stack: Stack, rekognition: FakeRekognition, path: Path) -> None:
        self.stack = stack
        self.rekognition = rekognition
        self.path = path
        self._lock = threading.Lock()

    def _of_type(self, resource_type: str) -> list[str]:
        return [
            logical_id
            for logical_id, resource in self.stack.resources.items()
            if resource["Type"] == resource_type and logical_id in self.stack.refs
        ]

    # ------------------------------------------------------------------ saving
    def save(self) -> None:
        with self._lock:
            state = {
                "version": VERSION,
                "tables": {t: self._items(self.stack.ref(t)) for t in self._of_type("AWS::DynamoDB::Table")},
                "buckets": {b: self._objects(self.stack.ref(b)) for b in self._of_type("AWS::S3::Bucket")},
                "collections": {
                    name: [_face_json(f) for f in faces.values()]
                    for name, faces in self.rekognition.collections.items()
                },
                "users": self._users(),
                "parameters": {
                    p: self.stack.client("ssm").get_parameter(Name=self.stack.ref(p))["Parameter"]["Value"]
                    for p in self._of_type("AWS::SSM::Parameter")
                },
            }
            temporary = self.path.with_suffix(".partial")
            temporary.write_text(json.dumps(state))
            temporary.replace(self.path)

    def _items(self, table: str) -> list[dict]:
        items: list[dict] = []
        for page in self.stack.client("dynamodb").get_paginator("scan").paginate(TableName=table):
            items += page["Items"]
        return [_binary_safe(item) for item in items]

    def _objects(self, bucket: str) -> list[dict]:
        s3 = self.stack.client("s3")
        objects = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for summary in page.get("Contents", []):
                if summary["Key"].startswith(SKIPPED_PREFIXES):
                    continue
                stored = s3.get_object(Bucket=bucket, Key=summary["Key"])
                objects.append(
                    {
                        "key": summary["Key"],
                        "body": base64.b64encode(stored["Body"].read()).decode(),
                        "content_type": stored.get("ContentType", "binary/octet-stream"),
                        "metadata": stored.get("Metadata", {}),
                    }
                )
        return objects

    def _users(self) -> list[dict]:
        from moto.cognitoidp.models import cognitoidp_backends

        from local.stack import ACCOUNT, REGION

        pool = cognitoidp_backends[ACCOUNT][REGION].user_pools[self.stack.ref("StaffUserPool")]
        # With email sign-in, moto's username is the user's sub; the account is made again from its email.
        return [
            {
                "username": next((a["Value"] for a in user.attributes if a["Name"] == "email"), user.username),
                "password": user.password,
                "attributes": [a for a in user.attributes if a["Name"] != "sub"],
                "enabled": user.enabled,
                "mfa": user.preferred_mfa_setting,
                "token_verified": getattr(user, "token_verified", False),
            }
            for user in pool.users.values()
        ]

    # ------------------------------------------------------------------ restoring
    def restore(self) -> dict[str, int]:
        """Put the saved state back; returns what was restored, counted."""
        if not self.path.exists():
            return {}
        state = json.loads(self.path.read_text())
        if state.get("version") != VERSION:
            log.warning("%s is from another version of the local runtime; starting empty", self.path)
            return {}
        counts = {"people": 0, "faces": 0, "photos": 0, "staff": 0}
        dynamodb = self.stack.client("dynamodb")
        for table, items in state["tables"].items():
            if table not in self.stack.refs:
                continue
            for item in items:
                dynamodb.put_item(TableName=self.stack.ref(table), Item=_binary_restored(item))
            if table == "PeopleTable":
                counts["people"] = len(items)
        s3 = self.stack.client("s3")
        for bucket, objects in state["buckets"].items():
            if bucket not in self.stack.refs:
                continue
            for saved in objects:
                s3.put_object(
                    Bucket=self.stack.ref(bucket),
                    Key=saved["key"],
                    Body=base64.b64decode(saved["body"]),
                    ContentType=saved["content_type"],
                    Metadata=saved["metadata"],
                )
                counts["photos"] += 1
        for name, faces in state["collections"].items():
            collection = self.rekognition.collections.setdefault(name, {})
            for saved in faces:
                collection[saved["face_id"]] = _face_from_json(saved)
                counts["faces"] += 1
        counts["staff"] = self._restore_users(state["users"])
        ssm = self.stack.client("ssm")
        for parameter, value in state["parameters"].items():
            if parameter in self.stack.refs:
                ssm.put_parameter(Name=self.stack.ref(parameter), Value=value, Type="String", Overwrite=True)
        return counts

    def _restore_users(self, users: list[dict]) -> int:
        from moto.cognitoidp.models import cognitoidp_backends

        from local.stack import ACCOUNT, REGION

        cognito = self.stack.client("cognito-idp")
        pool_id = self.stack.ref("StaffUserPool")
        for saved in users:
            cognito.admin_create_user(
                UserPoolId=pool_id,
                Username=saved["username"],
                UserAttributes=saved["attributes"],
                MessageAction="SUPPRESS",
            )
            cognito.admin_set_user_password(
                UserPoolId=pool_id, Username=saved["username"], Password=saved["password"], Permanent=True
            )
            user = cognitoidp_backends[ACCOUNT][REGION].user_pools[pool_id]._get_user(saved["username"])
            user.enabled = saved["enabled"]
            user.preferred_mfa_setting = saved["mfa"]
            user.token_verified = saved["token_verified"]
        return len(users)


def _binary_safe(value: Any) -> Any:
    """DynamoDB items as JSON: binary attributes (B, BS) as base64 text."""
    if isinstance(value, dict):
        if "B" in value and len(value) == 1:
            return {"B": base64.b64encode(value["B"]).decode()}
        if "BS" in value and len(value) == 1:
            return {"BS": [base64.b64encode(b).decode() for b in value["BS"]]}
        return {k: _binary_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_binary_safe(v) for v in value]
    return value


def _binary_restored(value: Any) -> Any:
    if isinstance(value, dict):
        if "B" in value and len(value) == 1:
            return {"B": base64.b64decode(value["B"])}
        if "BS" in value and len(value) == 1:
            return {"BS": [base64.b64decode(b) for b in value["BS"]]}
        return {k: _binary_restored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_binary_restored(v) for v in value]
    return value
