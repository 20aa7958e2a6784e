"""The camera's IoT credentials: Greeter's own provider (greeter_camera/aws_credentials.py, urllib + ssl) and
awscrt's X.509 credentials provider (`awscrt.auth.AwsCredentialsProvider.new_x509`, the AWS Common Runtime behind
the IoT Device SDK v2), side by side in one run, against the same local mTLS endpoint, in each situation a store's
installer meets: what each says, and how long it takes to say it.

    .venv/bin/python -m bench.iot_credentials

The endpoint is tests/pi/iot_endpoint.py's (it checks the camera's client certificate as AWS IoT does).
awscrt's provider dials port 443 only, so it reaches the endpoint's free port through a local CONNECT proxy (its
own proxy option); Greeter's goes straight to it.
"""

import sys
import tempfile
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "pi"), str(ROOT / "tests" / "pi")]

from awscrt import auth, http, io  # noqa: E402
from greeter_camera.aws_credentials import IotCredentialsError, fetch_iot_credentials  # noqa: E402
from greeter_camera.config import IotCertificateCredentials  # noqa: E402
from iot_endpoint import ENDPOINT, ROLE_ALIAS, THING, ConnectProxy, CredentialsProvider, make_pki  # noqa: E402

TIMEOUT_S = 5.0


def crt_fetch(iot: IotCertificateCredentials, proxy_port: int) -> str:
    options = io.TlsContextOptions.create_client_with_mtls_from_path(iot.cert_path, iot.key_path)
    options.override_default_trust_store_from_path(None, iot.ca_path)
    provider = auth.AwsCredentialsProvider.new_x509(
        endpoint=ENDPOINT,
        thing_name=iot.thing_name,
        role_alias=iot.role_alias,
        tls_ctx=io.ClientTlsContext(options),
        http_proxy_options=http.HttpProxyOptions("127.0.0.1", proxy_port),
    )
    credentials = provider.get_credentials().result(TIMEOUT_S)
    return f"credentials {credentials.access_key_id}"


def own_fetch(iot: IotCertificateCredentials, endpoint: str) -> str:
    return f"credentials {fetch_iot_credentials(replace(iot, endpoint=endpoint), timeout=TIMEOUT_S)['access_key']}"


def attempt(fetch) -> tuple[str, float]:
    started = time.perf_counter()
    try:
        said = fetch()
    except IotCredentialsError as error:
        said = str(error)
    except FutureTimeout:
        said = f"(no answer within {TIMEOUT_S:g} s)"
    except Exception as error:  # awscrt's errors: AwsCrtError, RuntimeError, FileNotFoundError
        said = f"{type(error).__name__}: {getattr(error, 'name', '')} {error}".replace("  ", " ")
    return said, time.perf_counter() - started


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="greeter-iot-bench-"))
    pki = make_pki(folder)
    server = CredentialsProvider(pki, lambda: __import__("datetime").datetime.now(__import__("datetime").UTC))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    proxy = ConnectProxy(server.server_address)
    base = IotCertificateCredentials(
        endpoint=server.endpoint,
        role_alias=ROLE_ALIAS,
        thing_name=THING,
        cert_path=str(pki.device_cert),
        key_path=str(pki.device_key),
        ca_path=str(pki.ca),
    )
    situations = [
        ("everything right", base, []),
        ("certificate without the policy (403)", base, [(403, {"message": "Access Denied"})]),
        ("wrong role alias (404)", replace(base, role_alias="greeter-camera-typo"), [(404, {"message": "nope"})]),
        ("thing name not the certificate's (400)", replace(base, thing_name="greeter-till"), [(400, {"message": "x"})]),
        ("key not the certificate's", replace(base, key_path=str(pki.rogue_key)), []),
        ("root CA file missing", replace(base, ca_path=str(folder / "Amazon_Root_CA_1.pem")), []),
        (
            "certificate AWS IoT does not know",
            replace(base, cert_path=str(pki.rogue_cert), key_path=str(pki.rogue_key)),
            [],
        ),
        # Last: awscrt leaves this connection hanging, which holds up the single-threaded test endpoint.
        ("endpoint whose certificate the CA did not sign", replace(base, ca_path=str(pki.rogue_ca)), []),
    ]
    print(f"awscrt {__import__('awscrt').__version__}; each attempt given {TIMEOUT_S:g} s\n")
    for name, iot, errors in situations:
        server.errors = list(errors)
        own, own_s = attempt(lambda iot=iot: own_fetch(iot, server.endpoint))
        server.errors = list(errors)
        crt, crt_s = attempt(lambda iot=iot: crt_fetch(iot, proxy.port))
        print(f"## {name}\n  greeter ({own_s:.2f} s): {own}\n  awscrt  ({crt_s:.2f} s): {crt}\n")


if __name__ == "__main__":
    main()
