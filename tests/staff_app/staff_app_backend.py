"""The staff app's back end for browser tests: template.yaml on moto, the real registration function behind a
small HTTP front that turns requests into API Gateway events with Cognito claims, Cognito's JSON API, and the
app's static files with the same security headers CloudFront adds. Store hours run as in AWS: moto executes
the template's state machine (a manager's override starts it), its lambda:invoke reaching the real store-hours
function in this process.

It runs in its own process (`python tests/staff_app/staff_app_backend.py`), so moto's in-process mock
never meets the pytest process's own. It prints one JSON line (its URL) and serves until killed. Test-only
control routes live under /_test/: reset to a fresh stack, create a staff account, count what is stored, write
visits to the visit history as the match function does, list the store-hours runs.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import mimetypes
import os
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT / "tests", ROOT / "layers" / "common", ROOT, ROOT / "tests" / "staff_app"):
    sys.path.insert(0, str(path))

os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",  # noqa: S105 - moto's fake credentials
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="eu-west-1",
    AWS_REGION="eu-west-1",
    POWERTOOLS_TRACE_DISABLED="true",
    # Cognito checks TOTP codes against its own secret, as the real service does.
    MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP="true",
)
os.environ.pop("AWS_PROFILE", None)

from local.stack import load_template as _template  # noqa: E402

# Powertools reads its settings when the shared layer is first imported: the template's Globals, as in Lambda.
os.environ.update(
    {
        name: str(value)
        for name, value in _template()["Globals"]["Function"]["Environment"]["Variables"].items()
        if name.startswith("POWERTOOLS_")
    }
)

import boto3  # noqa: E402
import moto.cognitoidp  # noqa: E402
from botocore.exceptions import ClientError, ParamValidationError  # noqa: E402
from fakes.appsync_events import FakeAppSyncEvents  # noqa: E402
from fakes.rekognition import FakeRekognition, install  # noqa: E402
from greeter_common.arrivals import ArrivalPublisher, arrival_event  # noqa: E402
from greeter_common.visit_history import VisitHistory, iso  # noqa: E402
from joserfc import jwt  # noqa: E402
from joserfc.jwk import KeySet  # noqa: E402
from moto import mock_aws  # noqa: E402
from stack import REGION, Stack, load_template  # noqa: E402
from staff_app_totp import totp  # noqa: E402

from local.event_sources import FunctionError  # noqa: E402
from local.store_hours import deploy_store_hours, enable_step_functions  # noqa: E402

DIST = ROOT / "staff-app" / "dist"
STACK_NAME = "greeterapp"
API_ROUTES = [
    (
        "/people/{person_id}/visits/{first_seen}/video",
        re.compile(r"^/people/(?P<person_id>[^/]+)/visits/(?P<first_seen>[^/]+)/video$"),
    ),
    ("/people/{person_id}/photos", re.compile(r"^/people/(?P<person_id>[^/]+)/photos$")),
    ("/people/{person_id}/visits", re.compile(r"^/people/(?P<person_id>[^/]+)/visits$")),
    ("/people/{person_id}", re.compile(r"^/people/(?P<person_id>[^/]+)$")),
    ("/people", re.compile(r"^/people$")),
    ("/search", re.compile(r"^/search$")),
    ("/visits/now", re.compile(r"^/visits/now$")),
    ("/visits/acknowledge", re.compile(r"^/visits/acknowledge$")),
    ("/visits/export", re.compile(r"^/visits/export$")),
    ("/visits", re.compile(r"^/visits$")),
    ("/me", re.compile(r"^/me$")),
    ("/store/override", re.compile(r"^/store/override$")),
    ("/store", re.compile(r"^/store$")),
]
_JWKS = KeySet.import_key_set(
    json.loads(gzip.decompress((Path(moto.cognitoidp.__file__).parent / "resources/jwks-public.json.gz").read_bytes()))
)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _without_nulls(value):
    """AWS's JSON protocol treats a null member as absent (the SDK sends DEVICE_KEY: null); boto3 would refuse it."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    return value


class Backend:
    """The stack on moto and the registration function, loaded with the template's environment."""

    def __init__(self, parameters: dict[str, str]):
        self.parameters = parameters
        self.rekognition = FakeRekognition()
        install(self.rekognition)
        self.mock = mock_aws()
        self.mock.start()
        # The arrivals channel: the AppSync Events stand-in, authorising tablets with the pool's ID tokens and
        # the functions with their (fake) IAM credentials.
        self.events = FakeAppSyncEvents(
            region=REGION,
            secrets={os.environ["AWS_ACCESS_KEY_ID"]: os.environ["AWS_SECRET_ACCESS_KEY"]},
            authorize=self.claims,
        ).start()
        self._deploy()
        environment = self.stack.function_environment("RegistrationFunction")
        # The stand-in speaks plain HTTP on 127.0.0.1, where AppSync speaks HTTPS.
        environment["ARRIVALS_HTTP_ENDPOINT"] = environment["ARRIVALS_HTTP_ENDPOINT"].replace("https://", "http://")
        os.environ.update(environment)
        self.publisher = ArrivalPublisher(
            environment["ARRIVALS_HTTP_ENDPOINT"], REGION, boto3.session.Session().get_credentials()
        )

        sys.path.insert(0, str(self.stack.function_code_dir("RegistrationFunction")))
        import app as registration  # noqa: PLC0415 - the function's own module, imported like Lambda does

        self.registration = registration
        # One request at a time, as one Lambda container serves them.
        self.lock = threading.Lock()
        # Store hours as in AWS: moto runs the template's state machine (a manager's override starts it), its
        # lambda:invoke reaching the real store-hours function, loaded in this process (local/store_hours.py).
        self.store_hours = _InProcessFunction(_load_store_hours(self.stack))
        enable_step_functions({self.stack.ref("StoreHoursFunction"): self.store_hours})

    def _deploy(self) -> None:
        self.stack = Stack(self.parameters, name=STACK_NAME).deploy()
        self.state_machine = deploy_store_hours(self.stack, SimpleNamespace(handler="app.lambda_handler"))
        self.cognito = boto3.client("cognito-idp", region_name=REGION)
        self.pool_id = self.stack.ref("StaffUserPool")
        self.client_id = self.stack.ref("StaffUserPoolClient")
        pool = load_template()["Resources"]["StaffUserPool"]["Properties"]
        if "SOFTWARE_TOKEN_MFA" in pool.get("EnabledMfas", []):
            self.cognito.set_user_pool_mfa_config(
                UserPoolId=self.pool_id,
                SoftwareTokenMfaConfiguration={"Enabled": True},
                MfaConfiguration=pool.get("MfaConfiguration", "OFF"),
            )

    def reset(self) -> None:
        """A fresh stack (same physical names, so the warm function keeps working), as a new test expects."""
        with self.lock:
            self.mock.stop()
            self.rekognition.__init__()
            self.mock = mock_aws()
            self.mock.start()
            self.events.published.clear()
            self._deploy()

    def claims(self, token: str) -> dict | None:
        """What API Gateway's Cognito authorizer checks: signature, issuer, audience, expiry, an ID token."""
        try:
            claims = jwt.decode(token, _JWKS).claims
        except Exception:
            return None
        if claims.get("iss") != f"https://cognito-idp.{REGION}.amazonaws.com/{self.pool_id}":
            return None
        if claims.get("aud") != self.client_id or claims.get("token_use") != "id" or claims.get("exp", 0) < time.time():
            return None
        # API Gateway's REST authorizer passes every claim as a string, a list joined with commas.
        return {
            name: value if isinstance(value, str) else ",".join(value) if isinstance(value, list) else json.dumps(value)
            for name, value in claims.items()
        }


class Front(BaseHTTPRequestHandler):
    backend: Backend
    csp: str
    origin: str
    protocol_version = "HTTP/1.1"

    def app_config(self) -> dict:
        """config.json: what the stack's custom resource writes next to the app at deploy time."""
        return {
            "region": REGION,
            "userPoolId": self.backend.pool_id,
            "userPoolClientId": self.backend.client_id,
            "cognitoEndpoint": f"{self.origin}/cognito/",
            "apiUrl": "/v1",
            "eventsHttpHost": self.backend.events.http_host,
            "eventsRealtimeEndpoint": f"ws://{self.backend.events.realtime_host}/event/realtime",
            "storeName": self.backend.stack.parameters["StoreName"],
            "storeTimeZone": self.backend.stack.parameters["StoreTimeZone"],
            "locale": os.environ.get("GREETER_LOCALE", "en-GB"),
        }

    def log_message(self, *args) -> None:  # quiet: the test output stays readable
        pass

    # ------------------------------------------------------------------ plumbing
    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", self.csp)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value, headers: dict | None = None) -> None:
        self._send(status, json.dumps(value, default=str).encode(), "application/json", headers)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:  # noqa: N802
        self._route("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._route("POST")

    def do_PATCH(self) -> None:  # noqa: N802
        self._route("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._route("DELETE")

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        if url.path.startswith("/v1/"):  # the staff API on the app's origin, as CloudFront serves it
            return self._api(method, url.path[len("/v1") :], url.query)
        if url.path == "/cognito/" and method == "POST":
            return self._cognito()
        if url.path.startswith("/_test/"):
            return self._control(method, url.path, parse_qs(url.query))
        if method == "GET":
            return self._static(url.path)
        self._json(404, {"message": "no such route"})

    # ------------------------------------------------------------------ the app's files and settings
    def _static(self, path: str) -> None:
        if path == "/config.json":
            return self._json(200, self.app_config(), {"Cache-Control": "no-store"})
        file = (DIST / (path.lstrip("/") or "index.html")).resolve()
        if not file.is_file() or DIST.resolve() not in file.parents:
            return self._json(404, {"message": "not found"})
        self._send(200, file.read_bytes(), mimetypes.guess_type(file.name)[0] or "application/octet-stream")

    # ------------------------------------------------------------------ API Gateway in front of the function
    def _api(self, method: str, path: str, query: str) -> None:
        resource, match = next(((r, m.match(path)) for r, m in API_ROUTES if m.match(path)), (None, None))
        if resource is None:
            return self._json(404, {"code": "not_found", "message": "no such route"})
        claims = self.backend.claims(self.headers.get("Authorization", ""))
        if claims is None:
            return self._json(401, {"code": "unauthorized", "message": "sign in: send a staff ID token"})
        body = self._body().decode() or None
        headers = {name: value for name, value in self.headers.items()}
        params = {name: values[-1] for name, values in parse_qs(query).items()}
        event = {
            "resource": resource,
            "path": path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": {name: [value] for name, value in headers.items()},
            "queryStringParameters": params or None,
            "multiValueQueryStringParameters": {k: [v] for k, v in params.items()} or None,
            # API Gateway hands the function path parameters URL-decoded (a visit id's colons arrive as %3A).
            "pathParameters": {name: unquote(value) for name, value in match.groupdict().items()} or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": resource,
                "httpMethod": method,
                "path": f"/v1{path}",
                "stage": "v1",
                "accountId": "123456789012",
                "requestId": str(uuid.uuid4()),
                "requestTimeEpoch": int(time.time() * 1000),
                "identity": {"sourceIp": self.client_address[0], "userAgent": headers.get("User-Agent")},
                "authorizer": {"claims": claims},
            },
            "body": body,
            "isBase64Encoded": False,
        }
        with self.backend.lock:
            response = self.backend.registration.lambda_handler(event, _Context())
        out_headers = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}
        out_headers.update(response.get("headers") or {})
        content_type = out_headers.pop("Content-Type", "application/json")
        self._send(response["statusCode"], (response.get("body") or "").encode(), content_type, out_headers)

    # ------------------------------------------------------------------ Cognito's JSON API (public client calls)
    def _cognito(self) -> None:
        operation = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
        try:
            request = _without_nulls(json.loads(self._body() or b"{}"))
            answer = getattr(self.backend.cognito, _snake(operation))(**request)
        except ClientError as error:
            return self._json(
                400, {"__type": error.response["Error"]["Code"], "message": error.response["Error"]["Message"]}
            )
        except (ParamValidationError, AttributeError) as error:
            return self._json(400, {"__type": "InvalidParameterException", "message": str(error)})
        except NotImplementedError as error:  # an operation moto lacks (e.g. RevokeToken)
            return self._json(400, {"__type": "UnsupportedOperationException", "message": str(error)})
        answer.pop("ResponseMetadata", None)
        if answer.get("ChallengeName") == "NEW_PASSWORD_REQUIRED":
            # Cognito's challenge lists the user's attributes and those still required; moto leaves both out.
            answer["ChallengeParameters"].setdefault("userAttributes", "{}")
            answer["ChallengeParameters"].setdefault("requiredAttributes", "[]")
        self._send(200, json.dumps(answer, default=str).encode(), "application/x-amz-json-1.1")

    # ------------------------------------------------------------------ test control
    def _control(self, method: str, path: str, query: dict) -> None:
        backend = self.backend
        if path == "/_test/reset" and method == "POST":
            backend.reset()
            return self._json(200, self.app_config())
        if path == "/_test/staff" and method == "POST":
            request = json.loads(self._body())
            backend.cognito.admin_create_user(
                UserPoolId=backend.pool_id,
                Username=request["email"],
                TemporaryPassword=request["password"],
                MessageAction="SUPPRESS",
                UserAttributes=[
                    {"Name": "email", "Value": request["email"]},
                    {"Name": "email_verified", "Value": "true"},
                ],
            )
            if request.get("confirmed"):
                backend.cognito.admin_set_user_password(
                    UserPoolId=backend.pool_id, Username=request["email"], Password=request["password"], Permanent=True
                )
            # The staff member's role: a group of the pool (the API lets each role do its part).
            backend.cognito.admin_add_user_to_group(
                UserPoolId=backend.pool_id, Username=request["email"], GroupName=request.get("role", "manager")
            )
            answer = {"email": request["email"]}
            if request.get("totp"):  # what the staff member does once with an authenticator app
                token = backend.cognito.admin_initiate_auth(
                    UserPoolId=backend.pool_id,
                    ClientId=backend.client_id,
                    AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                    AuthParameters={"USERNAME": request["email"], "PASSWORD": request["password"]},
                )["AuthenticationResult"]["AccessToken"]
                secret = backend.cognito.associate_software_token(AccessToken=token)["SecretCode"]
                backend.cognito.verify_software_token(AccessToken=token, UserCode=totp(secret))
                backend.cognito.admin_set_user_mfa_preference(
                    UserPoolId=backend.pool_id,
                    Username=request["email"],
                    SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
                )
                answer["totp_secret"] = secret
            return self._json(201, answer)
        if path == "/_test/stored" and method == "GET":
            table = boto3.resource("dynamodb", region_name=REGION).Table(backend.stack.ref("PeopleTable"))
            people = table.scan()["Items"]
            faces = backend.rekognition.handle("ListFaces", {"CollectionId": backend.stack.ref("FaceCollection")})
            photos = boto3.client("s3", region_name=REGION).list_object_versions(
                Bucket=backend.stack.ref("PhotosBucket")
            )
            return self._json(
                200,
                {
                    "people": sorted(str(p.get("name")) for p in people),
                    "faces": len(faces["Faces"]),
                    "photos": len(photos.get("Versions", [])),
                },
            )
        if path == "/_test/visits" and method == "POST":
            return self._json(201, self._visits(json.loads(self._body())))
        if path == "/_test/store-hours" and method == "GET":
            sfn = boto3.client("stepfunctions", region_name=REGION)
            runs = [
                sfn.describe_execution(executionArn=run["executionArn"])
                for run in sfn.list_executions(stateMachineArn=backend.state_machine)["executions"]
            ]
            return self._json(
                200, [{"name": r["name"], "status": r["status"], "input": json.loads(r["input"])} for r in runs]
            )
        if path == "/_test/arrival" and method == "POST":
            return self._json(200, self._arrival(json.loads(self._body())))
        if path == "/_test/events/pause" and method == "POST":
            backend.events.pause()
            return self._json(200, {"paused": True})
        if path == "/_test/events/resume" and method == "POST":
            backend.events.resume()
            return self._json(200, {"paused": False})
        if path == "/_test/photo" and method == "GET":
            url = urlsplit(query["url"][0])
            bucket, key = url.netloc.split(".", 1)[0], url.path.lstrip("/")
            data = boto3.client("s3", region_name=REGION).get_object(Bucket=bucket, Key=key)
            return self._send(200, data["Body"].read(), data.get("ContentType", "image/jpeg"))
        self._json(404, {"message": "no such control route"})

    def _visits(self, request: dict) -> dict:
        """Visits of a registered person as the match function writes them to the visit history: opened at the first
        sighting (alerted then), seen again until the last, by the given cameras. Times are epoch seconds."""
        backend = self.backend
        table = boto3.resource("dynamodb", region_name=REGION).Table(backend.stack.ref("PeopleTable"))
        person = next(p for p in table.scan()["Items"] if p["name"] == request["name"])
        history = VisitHistory(
            boto3.resource("dynamodb", region_name=REGION).Table(backend.stack.ref("VisitHistoryTable")),
            ZoneInfo(backend.stack.parameters["StoreTimeZone"]),
            retention_days=90,
        )
        ids = []
        for visit in request["visits"]:
            cameras = visit.get("cameras", ["entrance"])
            history.opened(person["person_id"], visit["first_seen"], cameras[0], alerted_at=visit["first_seen"])
            history.seen_again(person["person_id"], visit["first_seen"], visit["last_seen"], cameras[1:])
            ids.append(iso(visit["first_seen"]))
        return {"person_id": person["person_id"], "visit_ids": ids}

    def _arrival(self, request: dict) -> dict:
        """What the match function does when it decides to greet someone: claim the visit in the visits table
        (its own VisitLedger), mark it alerted, publish the arrival (greeter_common.arrivals)."""
        backend = self.backend
        table = boto3.resource("dynamodb", region_name=REGION).Table(backend.stack.ref("PeopleTable"))
        person = next(p for p in table.scan()["Items"] if p["name"] == request["name"])
        seen_at = time.time()
        # The visit history the staff API reads (who is in the store now, "I'm on it"), as the match function
        # writes it; the visit's id is its first sighting.
        history = VisitHistory(
            boto3.resource("dynamodb", region_name=REGION).Table(backend.stack.ref("VisitHistoryTable")),
            ZoneInfo(backend.stack.parameters["StoreTimeZone"]),
            retention_days=90,
        )
        history.opened(person["person_id"], seen_at, request.get("camera", "entrance"), alerted_at=seen_at)
        visit_id = iso(seen_at)
        decided_at = time.time()
        event = arrival_event(
            visit_id=visit_id,
            person_id=person["person_id"],
            name=person["name"],
            notes=person.get("notes", ""),
            camera=request.get("camera", "entrance"),
            seen_at=seen_at,
            similarity=request.get("similarity", 97.5),
        )
        delivered = backend.publisher.publish([event])
        return {
            "visit_id": visit_id,
            "person_id": person["person_id"],
            "decided_at": decided_at,
            "delivered": delivered,
        }


def _load_store_hours(stack: Stack):
    """The store-hours function's app.py with its template environment, beside the registration function: its
    own `app` and `models` modules must not replace the registration function's (the same names)."""
    code = stack.function_code_dir("StoreHoursFunction")
    shared = ("app", "models", "decision")
    saved = {name: sys.modules.pop(name) for name in shared if name in sys.modules}
    saved_environment = dict(os.environ)
    os.environ.update(stack.function_environment("StoreHoursFunction"))
    sys.path.insert(0, str(code))
    try:
        spec = importlib.util.spec_from_file_location("store_hours_app", code / "app.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # Pydantic resolves the module's annotations through it
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(code))
        for name in shared:
            sys.modules.pop(name, None)
        sys.modules.update(saved)
        os.environ.clear()
        os.environ.update(saved_environment)
    return module


class _InProcessFunction:
    """What local/store_hours.py's enable_step_functions invokes: Lambda's answer, or its error payload."""

    def __init__(self, module) -> None:
        self.module = module

    def invoke(self, payload: dict) -> dict:
        try:
            return self.module.lambda_handler(payload, _Context())
        except Exception as error:  # noqa: BLE001 - Lambda turns any exception into an error payload
            raise FunctionError({"errorType": type(error).__name__, "errorMessage": str(error)}) from error


class _Context:
    function_name = f"{STACK_NAME}-RegistrationFunction"
    memory_limit_in_mb = 1024
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{STACK_NAME}-RegistrationFunction"
    aws_request_id = "00000000-0000-4000-8000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 28_000


def content_security_policy(stack: Stack) -> str:
    """The policy template.yaml's CloudFront response headers give the app, for this stack; the arrivals
    stand-in speaks ws:// on 127.0.0.1 where AppSync speaks wss://."""
    headers = stack.resolve(stack.resources["StaffAppSecurityHeaders"]["Properties"])["ResponseHeadersPolicyConfig"]
    policy = headers["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    return policy.replace("wss://", "ws://")


def main() -> None:
    backend = Backend({"AlertEmails": "staff@example.com", "StoreTimeZone": "Europe/Lisbon"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), Front)
    Front.backend = backend
    Front.origin = f"http://127.0.0.1:{server.server_address[1]}"
    Front.csp = content_security_policy(backend.stack)
    print(json.dumps({"url": Front.origin}), flush=True)
    # Nobody reads this process's stdout after the first line: the functions' logs go to stderr when
    # GREETER_BACKEND_LOGS is set, else nowhere (a full pipe would stall every request).
    os.dup2(2 if os.environ.get("GREETER_BACKEND_LOGS") else os.open(os.devnull, os.O_WRONLY), 1)
    server.serve_forever()


if __name__ == "__main__":
    main()
