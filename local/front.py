"""The local runtime's one HTTP port (127.0.0.1:PORT): API Gateway in front of the registration function, the
staff app (or a status page), and the local AWS endpoint for the staff CLI and the browser.

- `/v1/...`: the template's RegistrationApi, played as API Gateway's REST proxy integration does it. The
  routes are the function's `Api` events; every route needs a staff ID token in the Authorization header
  (the API's Cognito authorizer): the token's signature, issuer, audience, use and expiry are checked
  against the local user pool, and its claims reach the function in requestContext.authorizer.claims, as
  strings, as API Gateway passes them. Refusals answer with the template's GatewayResponses bodies.
- `/aws/...`: the local moto server (the staff CLI's and the browser's AWS endpoint: Cognito sign-in).
- `/local/...`: what runs, the emails sent, store hours on demand (the status page reads it).
- `/local/test/...`: only when the runtime is started with test routes (the browser tests, the benchmarks):
  reset to the state at start-up, staff accounts, what is stored, the arrivals channel (local/test_controls.py).
- `/`: the staff app's files when the staff app is built, otherwise the status page. They come with the
  security headers the stack's CloudFront distribution adds, the content security policy made for the local
  endpoints (the photos on the local S3, the arrivals stand-in's ws:// socket).
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path
from typing import Any

import urllib3
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from local.event_sources import FunctionError
from local.stack import ACCOUNT, REGION, Stack

log = logging.getLogger("greeter.local")
PAGE = Path(__file__).resolve().parent / "page.html"
STAGE = "v1"
# API Gateway's own limit on a request (10 MB); Lambda's on what it is handed is 6 MB.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
MAX_LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024
_COGNITO_TARGET = "AWSCognitoIdentityProviderService."
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}


# The names this machine answers to. Listening on 127.0.0.1 keeps other machines out, but a web page from
# anywhere can point its own domain name at 127.0.0.1 (DNS rebinding) and then read what is served here as
# "same origin" -- the registered faces included. Such a request still carries that domain as its Host.
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})


def this_machine_only(app: Callable) -> Callable:
    """`app` (WSGI), answering only requests addressed to this machine by name; others get 421."""

    def guarded(environ, start_response):
        host = environ.get("HTTP_HOST", "")
        name = host.rsplit(":", 1)[0] if host.rsplit(":", 1)[-1].isdigit() else host
        if name.lower() not in LOCAL_HOSTS:
            body = b'{"message": "this local server answers only to 127.0.0.1 and localhost"}'
            start_response(
                "421 Misdirected Request", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            )
            return [body]
        return app(environ, start_response)

    return guarded


def _moto_signing_keys() -> KeySet:
    """The keys moto's Cognito signs tokens with (its published JWKS)."""
    from moto.cognitoidp.models import load_resource

    return KeySet.import_key_set(load_resource("cognitoidp/resources/jwks-public.json"))


class ApiRoutes:
    """The API's routes, from the template: (method, resource path) pairs of a function's Api events."""

    def __init__(self, stack: Stack, function: str) -> None:
        self.routes: list[tuple[str, str, re.Pattern]] = []
        for event in stack.resources[function]["Properties"]["Events"].values():
            if event.get("Type") != "Api":
                continue
            properties = stack.resolve(event["Properties"])
            resource = properties["Path"]
            pattern = re.compile("^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(resource)) + "$")
            self.routes.append((properties["Method"].upper(), resource, pattern))

    def match(self, method: str, path: str) -> tuple[str, dict[str, str]] | None:
        for route_method, resource, pattern in self.routes:
            found = pattern.match(path)
            if found and route_method in (method, "ANY"):
                return resource, found.groupdict()
        return None


class CognitoAuthorizer:
    """API Gateway's Cognito user pool authorizer: a valid ID token of the pool, or no call."""

    def __init__(self, user_pool_id: str, client_ids: list[str]) -> None:
        self.issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{user_pool_id}"
        self.client_ids = client_ids
        self.keys = _moto_signing_keys()

    def claims(self, authorization: str | None) -> dict[str, str] | None:
        if not authorization:
            return None
        token = authorization.removeprefix("Bearer ").strip()
        try:
            claims = dict(jwt.decode(token, self.keys, algorithms=["RS256"]).claims)
        except (JoseError, ValueError):
            return None
        valid = (
            claims.get("iss") == self.issuer
            and claims.get("aud") in self.client_ids
            and claims.get("token_use") == "id"
            and float(claims.get("exp", 0)) > time.time()
        )
        return {name: _claim_text(name, value) for name, value in claims.items()} if valid else None


def _claim_text(name: str, value: Any) -> str:
    """API Gateway hands claims over as strings: lists comma-separated, exp and iat in Java's Date.toString() form."""
    if name in ("exp", "iat"):
        return datetime.fromtimestamp(float(value), UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):  # cognito:groups: "assistant,manager"
        return ",".join(str(item) for item in value)
    return value if isinstance(value, str) else json.dumps(value)


class Front:
    """The WSGI app behind 127.0.0.1:PORT (see the module docstring)."""

    def __init__(
        self,
        stack: Stack,
        invoke_api: Callable[[dict], Any],
        moto_url: str,
        status: Callable[[], dict],
        emails_dir: Path,
        store_hours: Callable[[dict], str],
        staff_app: Path | None,
        on_change: Callable[[], None],
        events: Any = None,
        test_controls: Any = None,
    ) -> None:
        self.stack = stack
        self.invoke_api = invoke_api
        self.moto_url = moto_url.rstrip("/")
        self.status = status
        self.emails_dir = emails_dir
        self.store_hours = store_hours
        self.staff_app = staff_app
        self.on_change = on_change
        self.test_controls = test_controls
        self.security_headers = staff_app_headers(stack, self.moto_url, events)
        self.routes = ApiRoutes(stack, "RegistrationFunction")
        api = stack.resolve(stack.resources["RegistrationApi"]["Properties"])
        self.gateway_responses = api.get("GatewayResponses", {})
        self.authorizer = CognitoAuthorizer(stack.ref("StaffUserPool"), [stack.ref("StaffUserPoolClient")])
        self.http = urllib3.PoolManager()
        self._server = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # ------------------------------------------------------------------ serving
    def start(self, port: int) -> int:
        self._server = make_server("127.0.0.1", port, this_machine_only(self), threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="front", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except Exception:  # the page says "something went wrong"; the terminal gets the details
            log.exception("%s %s failed", request.method, request.path)
            response = Response('{"message": "local runtime error"}', 500, content_type="application/json")
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path == f"/{STAGE}" or path.startswith(f"/{STAGE}/"):
            return self.api(request, path[len(STAGE) + 1 :] or "/")
        if path == "/aws" or path.startswith("/aws/"):
            return self.aws(request, path[len("/aws") :] or "/")
        if path.startswith("/local/"):
            return self.local(request, path[len("/local/") :])
        return self.files(path)

    # ------------------------------------------------------------------ API Gateway
    def gateway_response(self, kind: str, status: int) -> Response:
        configured = self.gateway_responses.get(kind, {})
        body = configured.get("ResponseTemplates", {}).get("application/json", '{"message": "error"}')
        return Response(body, int(configured.get("StatusCode", status)), content_type="application/json")

    def api(self, request: Request, path: str) -> Response:
        route = self.routes.match(request.method, path)
        if route is None:
            return self.gateway_response("MISSING_AUTHENTICATION_TOKEN", 404)
        claims = self.authorizer.claims(request.headers.get("Authorization"))
        if claims is None:
            return self.gateway_response("UNAUTHORIZED", 401)
        body = request.get_data(cache=False)
        if len(body) > MAX_REQUEST_BYTES:
            return self.gateway_response("REQUEST_TOO_LARGE", 413)
        event = self.proxy_event(request, path, route, claims, body)
        if len(json.dumps(event)) > MAX_LAMBDA_PAYLOAD_BYTES:
            return self.gateway_response("REQUEST_TOO_LARGE", 413)
        try:
            result = self.invoke_api(event)
        except FunctionError as error:
            log.warning("RegistrationFunction failed: %s", error)
            return self.gateway_response("DEFAULT_5XX", 502)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            self.on_change()
        return self.proxy_response(result)

    def proxy_event(self, request: Request, path: str, route: tuple[str, dict], claims: dict, body: bytes) -> dict:
        resource, path_parameters = route
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("content-length",)}
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            multi_headers.setdefault(name, []).append(value)
        query = {k: v[-1] for k, v in request.args.lists()} or None
        multi_query = {k: list(v) for k, v in request.args.lists()} or None
        now = time.time()
        host = request.host
        return {
            "resource": resource,
            "path": path,
            "httpMethod": request.method,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": multi_query,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": "local",
                "authorizer": {"claims": claims},
                "resourcePath": resource,
                "httpMethod": request.method,
                "extendedRequestId": uuid.uuid4().hex[:16],
                "requestTime": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "path": f"/{STAGE}{path}",
                "accountId": ACCOUNT,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "stage": STAGE,
                "domainPrefix": "local",
                "requestTimeEpoch": int(now * 1000),
                "requestId": str(uuid.uuid4()),
                "identity": {"sourceIp": request.remote_addr, "userAgent": request.user_agent.string},
                "domainName": host,
                "apiId": "local",
            },
            "body": body.decode("utf-8", "replace") if body else None,
            "isBase64Encoded": False,
        }

    @staticmethod
    def proxy_response(result: Any) -> Response:
        if not isinstance(result, dict) or "statusCode" not in result:
            return Response('{"message": "Internal server error"}', 502, content_type="application/json")
        response = Response(result.get("body") or "", int(result["statusCode"]))
        response.headers.clear()
        for name, values in (result.get("multiValueHeaders") or {}).items():
            for value in values:
                response.headers.add(name, value)
        for name, value in (result.get("headers") or {}).items():
            response.headers[name] = value
        response.headers.setdefault("Content-Type", "application/json")
        return response

    # ------------------------------------------------------------------ the local AWS endpoint
    def aws(self, request: Request, path: str) -> Response:
        query = request.query_string.decode()
        url = f"{self.moto_url}{path}" + (f"?{query}" if query else "")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        body = request.get_data()
        cognito = headers.get("X-Amz-Target", "").startswith(_COGNITO_TARGET)
        if cognito:
            body = _cognito_request(body)
        answer = self.http.request(
            request.method, url, body=body, headers=headers, redirect=False, preload_content=True
        )
        data = _cognito_answer(answer.data) if cognito and answer.status == 200 else answer.data
        response = Response(data, answer.status)
        response.headers.clear()
        for name, value in answer.headers.items():
            if name.lower() not in _HOP_BY_HOP:
                response.headers.add(name, value)
        return response

    # ------------------------------------------------------------------ /local/
    def local(self, request: Request, what: str) -> Response:
        if what.startswith("test/") and self.test_controls is not None:
            status, answer = self.test_controls.handle(request.method, what.removeprefix("test/"), request)
            return Response(json.dumps(answer, default=str), status, content_type="application/json")
        if what == "status" and request.method == "GET":
            return Response(json.dumps(self.status()), content_type="application/json")
        if what == "config.json":
            return Response(json.dumps(self.status()["staff_app_config"]), content_type="application/json")
        if what.startswith("emails/") and request.method == "GET":
            name = what.removeprefix("emails/")
            path = self.emails_dir / name
            if "/" in name or not name.endswith(".eml") or not path.is_file():
                return Response("no such email", 404)
            return Response(path.read_bytes(), content_type="message/rfc822; charset=utf-8")
        if what == "store-hours" and request.method == "POST":
            run_input = request.get_json(silent=True)
            if not isinstance(run_input, dict):
                return Response('{"message": "send a JSON object"}', 400, content_type="application/json")
            try:
                execution = self.store_hours(run_input)
            except RuntimeError as error:
                return Response(json.dumps({"message": str(error)}), 503, content_type="application/json")
            return Response(json.dumps({"executionArn": execution}), 202, content_type="application/json")
        return Response("not found", 404)

    # ------------------------------------------------------------------ files
    def files(self, path: str) -> Response:
        root = self.staff_app
        if path == "/config.json":  # the staff app's settings (in AWS the stack writes them next to the app)
            return Response(json.dumps(self.status()["staff_app_config"]), content_type="application/json")
        if root is None:
            if path in ("/", "/index.html"):
                return Response(PAGE.read_bytes(), content_type="text/html; charset=utf-8")
            return Response("not found", 404)
        target = (root / path.lstrip("/")).resolve()
        if not target.is_relative_to(root.resolve()) or not target.is_file():
            target = root / "index.html"  # a single-page app's own routes
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        response = Response(target.read_bytes(), content_type=content_type)
        response.headers["Last-Modified"] = formatdate(target.stat().st_mtime, usegmt=True)
        response.headers.extend(self.security_headers)
        return response


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    return value


def _cognito_request(body: bytes) -> bytes:
    """Cognito's JSON protocol treats a null member as absent (the browser SDK sends DEVICE_KEY: null); moto's
    server would refuse it."""
    try:
        return json.dumps(_without_nulls(json.loads(body))).encode()
    except ValueError:
        return body


def _cognito_answer(data: bytes) -> bytes:
    """Cognito's NEW_PASSWORD_REQUIRED challenge lists the user's attributes and those still required (the
    sign-in page reads them); moto's leaves both out."""
    try:
        answer = json.loads(data)
    except ValueError:
        return data
    if not isinstance(answer, dict) or answer.get("ChallengeName") != "NEW_PASSWORD_REQUIRED":
        return data
    parameters = answer.setdefault("ChallengeParameters", {})
    parameters.setdefault("userAttributes", "{}")
    parameters.setdefault("requiredAttributes", "[]")
    return json.dumps(answer).encode()


def staff_app_headers(stack: Stack, moto_url: str, events: Any) -> dict[str, str]:
    """The security headers of the template's StaffAppSecurityHeaders policy (what CloudFront adds to the app's
    files), with the policy's AWS endpoints swapped for the local ones: the photos bucket's presigned links point
    at the local S3 (path style), the arrivals socket at the stand-in's ws://, Cognito at /aws ('self')."""
    config = stack.resolve(stack.resources["StaffAppSecurityHeaders"]["Properties"])["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    policy = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    photos = stack.get_att("PhotosBucket", "RegionalDomainName")
    policy = policy.replace(f"https://{photos}", f"{moto_url}/{stack.ref('PhotosBucket')}/")
    if events is not None:
        policy = policy.replace(f"wss://{events.realtime_host}", f"ws://{events.realtime_host}")
    headers = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": security.get("FrameOptions", {}).get("FrameOption", "DENY"),
        "Referrer-Policy": security.get("ReferrerPolicy", {}).get("ReferrerPolicy", "no-referrer"),
    }
    for item in config.get("CustomHeadersConfig", {}).get("Items", []):
        headers[item["Header"]] = item["Value"]
    return headers
