"""The crops' AWS credentials: the AWS IoT credentials provider, played by a local HTTPS server that checks the
camera's client certificate like AWS does, and the access-key fallback.

The endpoint, its certificates and a rogue CA are in iot_endpoint.py (bench.iot_credentials uses them too).
"""

from __future__ import annotations

import datetime
import logging
import socket
import threading
from dataclasses import replace

import pytest
from detection_fixtures import ASTRONAUT, BUCKET, REGION, T0, FakeClock, moto_s3, stored_crops
from greeter_camera.aws_credentials import IotCredentialsError, aws_session, fetch_iot_credentials
from greeter_camera.config import AccessKeyCredentials, IotCertificateCredentials
from greeter_camera.detection import make_s3_client
from greeter_camera.faces import encode_jpeg
from greeter_camera.uploader import CropQueue, CropUploader, FaceCrop, SenderStats, crop_object_key
from iot_endpoint import ROLE_ALIAS, THING, CredentialsProvider, Pki, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


class Clock:
    """An aware datetime that moves only when told (botocore's time_fetcher)."""

    def __init__(self) -> None:
        self.now = datetime.datetime.now(datetime.UTC)

    def __call__(self) -> datetime.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def provider(pki, clock):
    server = CredentialsProvider(pki, clock)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def iot(pki, provider) -> IotCertificateCredentials:
    """The camera's IoT settings as camera.env gives them, pointing at the local credentials provider."""
    return IotCertificateCredentials(
        endpoint=provider.endpoint,
        role_alias=ROLE_ALIAS,
        thing_name=THING,
        cert_path=str(pki.device_cert),
        key_path=str(pki.device_key),
        ca_path=str(pki.ca),
    )


def problem(iot: IotCertificateCredentials, timeout: float = 5) -> str:
    with pytest.raises(IotCredentialsError) as raised:
        fetch_iot_credentials(iot, timeout=timeout)
    return str(raised.value)


# ---- getting credentials -----------------------------------------------------------------------------------


def test_the_certificate_buys_credentials_for_the_role_alias_and_thing(iot, provider):
    credentials = aws_session(iot, REGION).get_credentials().get_frozen_credentials()

    assert provider.requests == [
        {
            "path": f"/role-aliases/{ROLE_ALIAS}/credentials",
            "thing": THING,
            "client_cert": THING,
            "client_cert_issuer": "Test Root CA",
        }
    ]
    assert (credentials.access_key, credentials.secret_key, credentials.token) == (
        "ASIAIOTTESTKEY000001",
        "secret-1",
        "token-1",
    )


def test_nothing_is_asked_before_the_first_call_so_a_pi_without_network_still_starts(iot, provider):
    session = aws_session(iot, REGION)
    make_s3_client(REGION, session)

    assert provider.requests == []


def test_credentials_are_bought_again_before_they_expire_and_not_before(iot, provider, clock):
    credentials = aws_session(iot, REGION, time_fetcher=clock).get_credentials()
    assert credentials.get_frozen_credentials().access_key == "ASIAIOTTESTKEY000001"

    clock.now += datetime.timedelta(minutes=44)  # 16 minutes left: still good
    assert credentials.get_frozen_credentials().access_key == "ASIAIOTTESTKEY000001"
    clock.now += datetime.timedelta(minutes=2)  # 14 minutes left: botocore refreshes ahead of time
    assert credentials.get_frozen_credentials().access_key == "ASIAIOTTESTKEY000002"
    assert len(provider.requests) == 2
    clock.now += datetime.timedelta(minutes=30)
    assert credentials.get_frozen_credentials().access_key == "ASIAIOTTESTKEY000002"
    assert len(provider.requests) == 2


def test_a_failed_early_refresh_keeps_the_credentials_in_hand_until_they_must_be_replaced(iot, provider, clock):
    credentials = aws_session(iot, REGION, time_fetcher=clock).get_credentials()
    credentials.get_frozen_credentials()
    provider.errors = [(503, {"message": "Service Unavailable"})] * 2

    clock.now += datetime.timedelta(minutes=47)  # 13 minutes left: a refresh may fail, the old ones still work
    assert credentials.get_frozen_credentials().access_key == "ASIAIOTTESTKEY000001"
    clock.now += datetime.timedelta(minutes=5)  # 8 minutes left: must refresh, and says why it cannot
    with pytest.raises(IotCredentialsError, match=r"not answering properly \(HTTP 503: Service Unavailable\)"):
        credentials.get_frozen_credentials()
    assert credentials.get_frozen_credentials().access_key == "ASIAIOTTESTKEY000002"


def test_s3_uploads_are_signed_with_the_iot_credentials(iot, provider, monkeypatch):
    signed: list[dict] = []
    with moto_s3(monkeypatch):  # sets AWS_ACCESS_KEY_ID=testing in the environment: it must not be used
        s3 = make_s3_client(REGION, aws_session(iot, REGION))
        s3.meta.events.register_first("before-send.s3.PutObject", lambda request, **_: signed.append(request.headers))

        s3.put_object(Bucket=BUCKET, Key=f"crops/{THING}/1-a.jpg", Body=b"jpeg")

    [headers] = signed
    assert "Credential=ASIAIOTTESTKEY000001/" in headers["Authorization"].decode()
    assert headers["X-Amz-Security-Token"].decode() == "token-1"


def test_the_access_key_fallback_signs_with_the_cameras_own_key(monkeypatch):
    keys = AccessKeyCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    signed: list[dict] = []
    with moto_s3(monkeypatch) as s3_on_moto:
        s3 = make_s3_client(REGION, aws_session(keys, REGION))
        s3.meta.events.register_first("before-send.s3.PutObject", lambda request, **_: signed.append(request.headers))

        s3.put_object(Bucket=BUCKET, Key=f"crops/{THING}/1-a.jpg", Body=b"jpeg")

        assert list(stored_crops(s3_on_moto)) == [f"crops/{THING}/1-a.jpg"]
    [headers] = signed
    assert "Credential=AKIAIOSFODNN7EXAMPLE/" in headers["Authorization"].decode()
    assert "X-Amz-Security-Token" not in headers


# ---- when it goes wrong, in plain words ---------------------------------------------------------------------


def test_a_certificate_aws_iot_does_not_know_is_refused_in_the_tls_handshake(iot, pki, provider):
    message = problem(replace(iot, cert_path=str(pki.rogue_cert), key_path=str(pki.rogue_key)))

    # An alert in the handshake, or (TLS 1.3) the connection closed before the answer, whichever comes first.
    assert message.startswith(
        (
            f"{provider.endpoint} refused the camera's certificate in the TLS handshake (",
            f"{provider.endpoint} closed the connection before answering (",
        )
    )
    assert message.endswith(
        f"is GREETER_IOT_CERT={pki.rogue_cert} the certificate pi/provision-camera.sh made for this account and "
        "region, and still ACTIVE (aws iot describe-certificate)?"
    )
    assert provider.requests == []


def test_a_certificate_without_the_policy_is_refused_by_aws_iot(iot, provider):
    provider.errors = [(403, {"message": "Access Denied"})]

    assert problem(iot) == (
        f"AWS IoT refused the camera's certificate for role alias {ROLE_ALIAS} (HTTP 403: Access Denied). Check that "
        f"the certificate is ACTIVE, attached to the thing {THING} and has the stack's camera IoT policy (output "
        "CameraIotPolicyName) attached: pi/provision-camera.sh does all three."
    )


def test_a_wrong_role_alias_is_named(iot, provider):
    provider.errors = [(404, {"message": "Role alias does not exist"})]

    message = problem(replace(iot, role_alias="greeter-camera-typo"))

    assert message.startswith(
        "the role alias greeter-camera-typo was not found at 127.0.0.1:"
        f"{provider.server_address[1]} (HTTP 404: Role alias does not exist): GREETER_IOT_ROLE_ALIAS must be the "
        "stack's CameraRoleAlias output"
    )
    assert provider.requests[0]["path"] == "/role-aliases/greeter-camera-typo/credentials"


def test_a_wrong_endpoint_where_nothing_listens(iot):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]

    assert problem(replace(iot, endpoint=f"127.0.0.1:{port}")) == (
        f"nothing answers at 127.0.0.1:{port} (connection refused): check GREETER_IOT_CREDENTIALS_ENDPOINT "
        "(aws iot describe-endpoint --endpoint-type iot:CredentialProvider)."
    )


def test_a_wrong_endpoint_whose_certificate_amazons_ca_did_not_sign(iot, pki, provider):
    message = problem(replace(iot, ca_path=str(pki.rogue_ca)))

    assert message.startswith(
        f"{provider.endpoint} is not the AWS IoT credentials endpoint it claims to be: its TLS certificate is not "
        "trusted by GREETER_IOT_CA ("
    )
    assert "Check GREETER_IOT_CREDENTIALS_ENDPOINT (aws iot describe-endpoint" in message


def test_a_wrong_endpoint_that_answers_something_else(iot, provider):
    provider.errors = [(200, {"endpointAddress": "a1b2c3-ats.iot.eu-west-1.amazonaws.com"})]

    assert problem(iot).startswith(f"{provider.endpoint} answered, but not with AWS IoT credentials (")


def test_an_endpoint_that_never_answers_times_out(iot):
    with socket.socket() as silent:  # accepts connections (the backlog) but never speaks TLS
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        endpoint = f"127.0.0.1:{silent.getsockname()[1]}"

        message = problem(replace(iot, endpoint=endpoint), timeout=0.3)

    assert message == f"no answer from {endpoint} within 0.3 s: is the network down? Trying again later."


def test_a_key_that_does_not_belong_to_the_certificate(iot, pki):
    message = problem(replace(iot, key_path=str(pki.rogue_key)))

    assert message.startswith(
        f"cannot load the camera's certificate GREETER_IOT_CERT={pki.device_cert} with its key "
        f"GREETER_IOT_KEY={pki.rogue_key} ("
    )
    assert message.endswith("the key must be the one made with the certificate (pi/provision-camera.sh).")


def test_a_missing_root_ca_file(iot, tmp_path):
    message = problem(replace(iot, ca_path=str(tmp_path / "Amazon_Root_CA_1.pem")))

    assert message.startswith(f"cannot read the root CA certificate GREETER_IOT_CA={tmp_path}/Amazon_Root_CA_1.pem (")


def test_a_refused_certificate_is_a_failed_upload_the_crop_waits_for_the_next_try(iot, provider, monkeypatch, caplog):
    provider.errors = [(403, {"message": "Access Denied"})]
    stats = SenderStats()
    queue = CropQueue(5, stats)
    crop = FaceCrop(crop_object_key(THING, T0), encode_jpeg(ASTRONAUT[60:180, 170:280], 90), T0)
    queue.put(crop)
    with moto_s3(monkeypatch) as s3_on_moto:
        uploader = CropUploader(
            queue=queue,
            s3_client=make_s3_client(REGION, aws_session(iot, REGION)),
            bucket=BUCKET,
            max_age_seconds=30,
            backoff_seconds=0.5,
            backoff_max_seconds=8,
            clock=FakeClock(),
            stats=stats,
        )

        with caplog.at_level(logging.WARNING, logger="greeter_camera.uploader"):
            assert uploader.step() == 0.5  # failed: back off, keep the crop
        assert len(queue) == 1 and stats.upload_failures == 1
        assert "AWS IoT refused the camera's certificate for role alias greeter-camera (HTTP 403" in caplog.text

        uploader.clock.now += 0.5
        assert uploader.step() == 0.0  # the provider answers now: uploaded with fresh credentials
        assert list(stored_crops(s3_on_moto)) == [crop.key]
