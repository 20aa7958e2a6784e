"""AWS credentials for the camera's own AWS calls: the frame-search crops' uploads to S3.

kvssink fetches its credentials by itself (from the IoT settings or the access key the pipeline gives it).
The crops go through boto3, which gets the same identity here:

- iot-certificate (preferred): the AWS IoT credentials provider. An HTTPS GET of
  `https://<GREETER_IOT_CREDENTIALS_ENDPOINT>/role-aliases/<GREETER_IOT_ROLE_ALIAS>/credentials`, with the
  camera's certificate and key as the TLS client certificate and the header
  `x-amzn-iot-thingname: <GREETER_IOT_THING_NAME>`, answers
  `{"credentials": {"accessKeyId", "secretAccessKey", "sessionToken", "expiration"}}`: temporary credentials
  of the stack's CameraRole (an hour: the role alias's CredentialDurationSeconds), which only allow this
  thing's own stream and `crops/<thing name>/`. botocore's refreshable credentials ask again 15 minutes
  before they expire (and insist from 10 minutes before). The first request is made by the first upload,
  so a Pi that boots without network still starts; the certificate files are read at each request, so a
  renewed certificate needs no restart.
- access-keys (fallback): the camera IAM user's key from camera.env.

Every failure is a botocore error (a CredentialRetrievalError) whose message says in plain words what to
check, so the crop uploader treats it like any failed upload: the crop stays queued and the next try waits.
Standard library only (urllib, ssl) besides boto3, which the uploads need anyway.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import datetime
from typing import Any

import boto3
import botocore.session
from botocore.credentials import CredentialProvider, CredentialResolver, DeferredRefreshableCredentials
from botocore.exceptions import CredentialRetrievalError

from greeter_camera.config import AccessKeyCredentials, Credentials, IotCertificateCredentials

log = logging.getLogger(__name__)

# A credentials request that has not been answered in this time has failed (the uploader tries again later).
# It bounds each socket operation of the one request (connect, TLS, read), so a silent network costs seconds.
REQUEST_TIMEOUT_SECONDS = 5.0
THING_NAME_HEADER = "x-amzn-iot-thingname"
_FIND_ENDPOINT = "aws iot describe-endpoint --endpoint-type iot:CredentialProvider"


class IotCredentialsError(CredentialRetrievalError):
    """The AWS IoT credentials provider gave no credentials; the message says why, plainly."""

    fmt = "{error_msg}"

    def __init__(self, message: str) -> None:
        super().__init__(provider="iot-certificate", error_msg=message)


def credentials_url(iot: IotCertificateCredentials) -> str:
    alias = urllib.parse.quote(iot.role_alias, safe="")
    return f"https://{iot.endpoint}/role-aliases/{alias}/credentials"


def fetch_iot_credentials(iot: IotCertificateCredentials, *, timeout: float = REQUEST_TIMEOUT_SECONDS) -> dict:
    """One request to the credentials provider. Returns botocore's credential metadata
    (access_key, secret_key, token, expiry_time); raises IotCredentialsError."""
    request = urllib.request.Request(  # noqa: S310 - always https, to the configured endpoint
        credentials_url(iot), headers={THING_NAME_HEADER: iot.thing_name, "Accept": "application/json"}
    )
    context = _tls_context(iot)
    try:
        with urllib.request.urlopen(request, context=context, timeout=timeout) as response:  # noqa: S310
            body = response.read()
    except urllib.error.HTTPError as error:
        raise IotCredentialsError(_http_problem(iot, error.code, error.read())) from None
    except urllib.error.URLError as error:
        reason = error.reason if isinstance(error.reason, BaseException) else OSError(str(error.reason))
        raise IotCredentialsError(_connection_problem(iot, reason, timeout)) from None
    except (OSError, http.client.HTTPException) as error:  # raised while reading the answer
        raise IotCredentialsError(_connection_problem(iot, error, timeout)) from None
    try:
        answer = json.loads(body)["credentials"]
        metadata = {
            "access_key": answer["accessKeyId"],
            "secret_key": answer["secretAccessKey"],
            "token": answer["sessionToken"],
            "expiry_time": answer["expiration"],
        }
    except (ValueError, KeyError, TypeError):
        raise IotCredentialsError(
            f"{iot.endpoint} answered, but not with AWS IoT credentials ({body[:120]!r}): is "
            f"GREETER_IOT_CREDENTIALS_ENDPOINT the credentials endpoint ({_FIND_ENDPOINT})?"
        ) from None
    log.info("got AWS credentials for thing %s until %s", iot.thing_name, metadata["expiry_time"])
    return metadata


def _tls_context(iot: IotCertificateCredentials) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=iot.ca_path)
    except (OSError, ssl.SSLError) as error:
        raise IotCredentialsError(
            f"cannot read the root CA certificate GREETER_IOT_CA={iot.ca_path} ({_reason(error)}): it should be "
            "Amazon Root CA 1 (/etc/ssl/certs/Amazon_Root_CA_1.pem from the ca-certificates package)."
        ) from None
    try:
        context.load_cert_chain(iot.cert_path, iot.key_path)
    except (OSError, ssl.SSLError) as error:
        raise IotCredentialsError(
            f"cannot load the camera's certificate GREETER_IOT_CERT={iot.cert_path} with its key "
            f"GREETER_IOT_KEY={iot.key_path} ({_reason(error)}): both must be readable by the service user, and "
            "the key must be the one made with the certificate (pi/provision-camera.sh)."
        ) from None
    return context


def _reason(error: BaseException) -> str:
    if isinstance(error, ssl.SSLError) and error.reason:
        return str(error.reason)
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def _connection_problem(iot: IotCertificateCredentials, error: BaseException, timeout: float) -> str:
    where = iot.endpoint
    if isinstance(error, ssl.SSLCertVerificationError):
        return (
            f"{where} is not the AWS IoT credentials endpoint it claims to be: its TLS certificate is not "
            f"trusted by GREETER_IOT_CA ({error.verify_message}). Check GREETER_IOT_CREDENTIALS_ENDPOINT "
            f"({_FIND_ENDPOINT}) and that GREETER_IOT_CA is Amazon Root CA 1."
        )
    certificate_hint = (
        f"is GREETER_IOT_CERT={iot.cert_path} the certificate pi/provision-camera.sh made for this account and "
        "region, and still ACTIVE (aws iot describe-certificate)?"
    )
    if isinstance(error, ssl.SSLError):
        return f"{where} refused the camera's certificate in the TLS handshake ({_reason(error)}): {certificate_hint}"
    if isinstance(error, ConnectionResetError | BrokenPipeError | http.client.RemoteDisconnected):
        # With TLS 1.3 a refused client certificate shows as a connection closed before the answer.
        return (
            f"{where} closed the connection before answering ({_reason(error)}), as AWS IoT does when it refuses "
            f"the camera's certificate: {certificate_hint}"
        )
    if isinstance(error, socket.gaierror):
        return (
            f"cannot find the host {where} ({_reason(error)}): check GREETER_IOT_CREDENTIALS_ENDPOINT "
            f"({_FIND_ENDPOINT}) and the Pi's network and DNS."
        )
    if isinstance(error, ConnectionRefusedError):
        return (
            f"nothing answers at {where} (connection refused): check GREETER_IOT_CREDENTIALS_ENDPOINT "
            f"({_FIND_ENDPOINT})."
        )
    if isinstance(error, TimeoutError):
        return f"no answer from {where} within {timeout:g} s: is the network down? Trying again later."
    return f"cannot reach {where} ({_reason(error)}): is the network down? Trying again later."


def _http_problem(iot: IotCertificateCredentials, status: int, body: bytes) -> str:
    try:
        said = str(json.loads(body).get("message", "")) or body.decode("utf-8", "replace")
    except (ValueError, AttributeError):
        said = body[:200].decode("utf-8", "replace")
    answer = f"HTTP {status}: {said.strip() or 'no message'}"
    if status in (401, 403):
        return (
            f"AWS IoT refused the camera's certificate for role alias {iot.role_alias} ({answer}). Check that the "
            f"certificate is ACTIVE, attached to the thing {iot.thing_name} and has the stack's camera IoT policy "
            "(output CameraIotPolicyName) attached: pi/provision-camera.sh does all three."
        )
    if status == 404:
        return (
            f"the role alias {iot.role_alias} was not found at {iot.endpoint} ({answer}): GREETER_IOT_ROLE_ALIAS "
            "must be the stack's CameraRoleAlias output, and the endpoint in the stack's region."
        )
    if status == 400:
        return (
            f"the credentials provider refused the request ({answer}): check that GREETER_IOT_THING_NAME="
            f"{iot.thing_name} is the IoT thing the certificate is attached to."
        )
    return f"the AWS IoT credentials provider is not answering properly ({answer}); trying again later."


class IotCertificateCredentialProvider(CredentialProvider):
    """botocore's credential chain, reduced to one link: the AWS IoT credentials provider."""

    METHOD = "iot-certificate"
    CANONICAL_NAME = "GreeterIotCertificate"

    def __init__(
        self,
        iot: IotCertificateCredentials,
        *,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
        time_fetcher: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__()
        self.iot = iot
        self.timeout = timeout
        self.time_fetcher = time_fetcher

    def load(self) -> DeferredRefreshableCredentials:
        extra = {"time_fetcher": self.time_fetcher} if self.time_fetcher is not None else {}
        return DeferredRefreshableCredentials(refresh_using=self._fetch, method=self.METHOD, **extra)

    def _fetch(self) -> dict:
        try:
            return fetch_iot_credentials(self.iot, timeout=self.timeout)
        except IotCredentialsError as error:
            # botocore keeps using credentials that are still good for a while (and says so in a traceback,
            # which the service silences); this is the line that says why in words.
            log.warning("could not get AWS credentials for the crop uploads: %s", error)
            raise


def aws_session(
    credentials: Credentials,
    region: str,
    *,
    timeout: float = REQUEST_TIMEOUT_SECONDS,
    time_fetcher: Callable[[], datetime] | None = None,
) -> Any:
    """A boto3 session that signs with the camera's own identity, and only with it (environment variables and
    ~/.aws are not consulted). `time_fetcher` (an aware datetime) is for tests of the refresh."""
    if isinstance(credentials, AccessKeyCredentials):
        return boto3.session.Session(
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            region_name=region,
        )
    if not isinstance(credentials, IotCertificateCredentials):  # pragma: no cover - the config parser prevents it
        raise TypeError(f"unsupported credentials {type(credentials).__name__}")
    core = botocore.session.Session()
    provider = IotCertificateCredentialProvider(credentials, timeout=timeout, time_fetcher=time_fetcher)
    core.register_component("credential_provider", CredentialResolver(providers=[provider]))
    return boto3.session.Session(botocore_session=core, region_name=region)
