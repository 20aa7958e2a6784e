"""A stateful stand-in for an AWS AppSync Events API (moto has none): the documented protocol subset Greeter uses.

- HTTP publish: `POST <http>/event` with `{"channel", "events": [JSON strings]}`, authorised by IAM. The SigV4
  signature is checked here from the documented algorithm (canonical request, string to sign, HMAC chain) with
  hashlib, not with botocore, so a publisher that signs wrongly is refused as AppSync would refuse it (401/403).
- WebSocket `<realtime>/event/realtime` with the `aws-appsync-event-ws` subprotocol and the authorisation in a
  `header-<base64url JSON>` subprotocol (Cognito: `{"Authorization": <ID token>, "host": <http host>}`);
  `connection_init` -> `connection_ack`, keep-alive `ka`, `subscribe` (channel paths, `/*` wildcards) ->
  `subscribe_success`/`subscribe_error`, `data` messages, `unsubscribe`, and `publish` over the socket, which
  only IAM may do in Greeter's namespace (tablets get `publish_error`).

Tests steer it with `pause()` (drop every socket and refuse new ones, as a flaky shop Wi-Fi does) and
`resume()`, and read `published` (every accepted event), `published_at` (when each arrived, epoch seconds) and
`refused` (every refused request). Given a `calls` counter (the benchmarks' count of AWS calls,
tests/faults.py), every HTTP publish request that reaches it counts there as `appsync.EventPublish`, accepted
or not, as every request to AWS is an AWS call.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

SUBPROTOCOL = "aws-appsync-event-ws"
# The running stand-in: local/stack.py gives a deployed AWS::AppSync::Api its endpoints (set by start()).
running: FakeAppSyncEvents | None = None
CHANNEL = re.compile(
    r"^/?[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?(?:/(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?|\*)){0,4}/?$"
)
MAX_CLOCK_SKEW_SECONDS = 300


def _b64url_json(text: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def channel_matches(pattern: str, channel: str) -> bool:
    want, have = pattern.strip("/").split("/"), channel.strip("/").split("/")
    if want[-1] == "*":
        return have[: len(want) - 1] == want[:-1] and len(have) >= len(want)
    return want == have


# ---------------------------------------------------------------------- SigV4, from the documented algorithm
def sigv4_problem(
    method: str, path: str, headers: dict[str, str], body: bytes, secrets: dict[str, str], region: str, now: float
) -> str | None:
    """Why this request's SigV4 signature is not valid for service appsync in `region` (None when it is)."""
    headers = {name.lower(): value for name, value in headers.items()}
    match = re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
        r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})",
        headers.get("authorization", ""),
    )
    if not match:
        return "missing or malformed Authorization header"
    access_key, day, scope_region, service, signed_names, signature = match.groups()
    if service != "appsync" or scope_region != region:
        return f"credential scope {scope_region}/{service}, expected {region}/appsync"
    if access_key not in secrets:
        return "unknown access key"
    amz_date = headers.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "missing or malformed X-Amz-Date"
    if amz_date[:8] != day or abs(signed_at.timestamp() - now) > MAX_CLOCK_SKEW_SECONDS:
        return "signature expired or dated in the future"
    names = signed_names.split(";")
    if "host" not in names or "x-amz-date" not in names or any(name not in headers for name in names):
        return "host and x-amz-date must be signed"
    canonical = "\n".join(
        [
            method,
            path or "/",
            "",
            "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in names),
            signed_names,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/appsync/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = f"AWS4{secrets[access_key]}".encode()
    for part in (day, region, "appsync", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(expected, signature) else "signature does not match"


class FakeAppSyncEvents:
    def __init__(
        self,
        *,
        region: str,
        secrets: dict[str, str],
        authorize: Callable[[str], dict | None],
        namespaces: tuple[str, ...] = ("arrivals",),
        keep_alive_seconds: float = 60.0,
        calls: Counter | None = None,
    ):
        self.region = region
        self.secrets = secrets  # access key id -> secret key: the IAM identities allowed to publish
        self.authorize = authorize  # Cognito ID token -> claims, or None
        self.namespaces = namespaces
        self.keep_alive_seconds = keep_alive_seconds
        self.calls = calls
        self.published: list[tuple[str, dict]] = []
        self.published_at: list[float] = []
        self.refused: list[str] = []
        self._subscriptions: dict[object, dict[str, str]] = {}  # connection -> {subscription id: channel}
        self._paused = False
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeAppSyncEvents:
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._http_handler())
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        threading.Thread(target=self._run_loop, daemon=True).start()
        self._ready.wait(10)
        global running
        running = self
        return self

    def stop(self) -> None:
        global running
        running = None
        self._http.shutdown()
        self._loop.call_soon_threadsafe(self._server.close)

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def main():
            self._server = await serve(
                self._connection,
                "127.0.0.1",
                0,
                subprotocols=[SUBPROTOCOL],
                select_subprotocol=self._select_subprotocol,
                process_request=self._check_path,
            )
            self._ws_port = self._server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._server.serve_forever()

        self._loop.run_until_complete(main())

    @property
    def http_host(self) -> str:
        return f"127.0.0.1:{self._http.server_address[1]}"

    @property
    def http_endpoint(self) -> str:
        return f"http://{self.http_host}/event"

    @property
    def realtime_host(self) -> str:
        return f"127.0.0.1:{self._ws_port}"

    def pause(self) -> None:
        """Close every socket and refuse new ones until resume()."""
        self._paused = True
        for connection in list(self._subscriptions):
            asyncio.run_coroutine_threadsafe(connection.close(1001, "going away"), self._loop)

    def resume(self) -> None:
        self._paused = False

    def connections(self) -> int:
        return len(self._subscriptions)

    # ------------------------------------------------------------------ HTTP publish (IAM)
    def _http_handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, answer = fake.publish_over_http(
                    self.command, urlsplit(self.path).path, dict(self.headers), body
                )
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def publish_over_http(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict]:
        if self.calls is not None:
            self.calls["appsync.EventPublish"] += 1
        if path != "/event":
            return 404, {"errors": [{"errorType": "NotFound", "message": "no such path"}]}
        if {k.lower(): v for k, v in headers.items()}.get("host") != self.http_host:
            self.refused.append("wrong host")
            return 403, {"errors": [{"errorType": "ForbiddenException", "message": "host does not match"}]}
        problem = sigv4_problem(method, path, headers, body, self.secrets, self.region, time.time())
        if problem:
            self.refused.append(problem)
            return 403, {"errors": [{"errorType": "UnauthorizedException", "message": problem}]}
        try:
            request = json.loads(body)
            channel, events = request["channel"], request["events"]
            parsed = [json.loads(event) for event in events]
        except (ValueError, KeyError, TypeError):
            return 400, {"errors": [{"errorType": "BadRequestException", "message": "channel and events required"}]}
        if not CHANNEL.match(channel) or "*" in channel or channel.strip("/").split("/")[0] not in self.namespaces:
            return 400, {"errors": [{"errorType": "BadRequestException", "message": "invalid channel"}]}
        if not 1 <= len(events) <= 5:
            return 400, {"errors": [{"errorType": "BadRequestException", "message": "1 to 5 events per request"}]}
        received_at = time.time()
        successful = [{"identifier": str(uuid.uuid4()), "index": index} for index in range(len(events))]
        asyncio.run_coroutine_threadsafe(self._broadcast(channel, events), self._loop).result(5)
        self.published.extend((channel, event) for event in parsed)
        self.published_at.extend(received_at for _ in parsed)
        return 200, {"successful": successful, "failed": []}

    # ------------------------------------------------------------------ WebSocket (Cognito)
    def _select_subprotocol(self, connection, offered):
        return SUBPROTOCOL if SUBPROTOCOL in offered else None

    def _check_path(self, connection, request):
        if self._paused:
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "paused\n")
        if request.path != "/event/realtime":
            return connection.respond(HTTPStatus.NOT_FOUND, "no such path\n")
        offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        header = next((p[len("header-") :] for p in offered if p.startswith("header-")), None)
        try:
            auth = _b64url_json(header) if header else {}
        except ValueError:
            auth = {}
        if SUBPROTOCOL not in offered or auth.get("host") != self.http_host or not self._claims(auth):
            self.refused.append("connection unauthorised")
            return connection.respond(HTTPStatus.UNAUTHORIZED, "unauthorized\n")
        return None

    def _claims(self, authorization: dict) -> dict | None:
        token = authorization.get("Authorization") or authorization.get("authorization") or ""
        return self.authorize(token.removeprefix("Bearer ")) if token else None

    async def _connection(self, connection) -> None:
        self._subscriptions[connection] = {}
        keep_alive = asyncio.create_task(self._keep_alive(connection))
        try:
            async for text in connection:
                await self._message(connection, json.loads(text))
        except (ConnectionClosed, ValueError):
            pass
        finally:
            keep_alive.cancel()
            self._subscriptions.pop(connection, None)

    async def _keep_alive(self, connection) -> None:
        while True:
            await asyncio.sleep(self.keep_alive_seconds)
            await connection.send(json.dumps({"type": "ka"}))

    async def _message(self, connection, message: dict) -> None:
        kind, sub_id = message.get("type"), message.get("id")
        if kind == "connection_init":
            await connection.send(json.dumps({"type": "connection_ack", "connectionTimeoutMs": 300_000}))
        elif kind == "subscribe":
            channel = message.get("channel", "")
            error = None
            if not self._claims(message.get("authorization") or {}):
                error = ("UnauthorizedException", "You are not authorized to make this call.")
            elif not CHANNEL.match(channel) or channel.strip("/").split("/")[0] not in self.namespaces:
                error = ("BadRequestException", "Invalid channel")
            elif sub_id in self._subscriptions[connection]:
                error = ("BadRequestException", "Duplicate subscription id")
            if error:
                await connection.send(
                    json.dumps(
                        {
                            "type": "subscribe_error",
                            "id": sub_id,
                            "errors": [{"errorType": error[0], "message": error[1]}],
                        }
                    )
                )
                return
            self._subscriptions[connection][sub_id] = channel
            await connection.send(json.dumps({"type": "subscribe_success", "id": sub_id}))
        elif kind == "unsubscribe":
            found = self._subscriptions[connection].pop(sub_id, None)
            await connection.send(
                json.dumps({"type": "unsubscribe_success" if found else "unsubscribe_error", "id": sub_id})
            )
        elif kind == "publish":
            # Greeter's namespace takes publishes from IAM only (the functions); a staff token may not publish.
            self.refused.append("publish over the socket with a user-pool token")
            await connection.send(
                json.dumps(
                    {
                        "type": "publish_error",
                        "id": sub_id,
                        "errors": [
                            {
                                "errorType": "UnauthorizedException",
                                "message": "You are not authorized to make this call.",
                            }
                        ],
                    }
                )
            )

    async def _broadcast(self, channel: str, events: list[str]) -> None:
        for connection, subscriptions in list(self._subscriptions.items()):
            for sub_id, pattern in subscriptions.items():
                if channel_matches(pattern, channel):
                    for event in events:
                        with contextlib.suppress(ConnectionClosed):
                            await connection.send(json.dumps({"type": "data", "id": sub_id, "event": event}))
