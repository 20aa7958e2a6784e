"""AWS IoT's credentials endpoint in miniature, for the camera's credential tests and bench.iot_credentials: a
CA that stands for both Amazon's root CA (it signs the endpoint's certificate) and AWS IoT (it signs the camera's),
a rogue CA AWS IoT has never heard of, an HTTPS server that checks the camera's client certificate like AWS does,
and an HTTP CONNECT proxy (a client that only dials port 443, as awscrt's X.509 provider does, reaches the
server on its free port through it)."""

from __future__ import annotations

import datetime
import json
import select
import socket
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

THING = "greeter-entrance"
ROLE_ALIAS = "greeter-camera"
# The name the endpoint's certificate carries, as the real one would (its address stays 127.0.0.1).
ENDPOINT = "c1example2abcd.credentials.iot.eu-west-1.amazonaws.com"
HOUR = datetime.timedelta(hours=1)

# ---- certificates --------------------------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str, key, issuer: str, issuer_key, *, ca: bool = False, ip: str | None = None, dns: str | None = None
):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        # Python 3.13 verifies strictly (VERIFY_X509_STRICT): key identifiers, as real certificates have.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    names = ([x509.IPAddress(IPv4Address(ip))] if ip else []) + ([x509.DNSName(dns)] if dns else [])
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass(frozen=True)
class Pki:
    ca: Path  # stands for Amazon Root CA 1 (GREETER_IOT_CA)
    server_cert: Path
    server_key: Path
    device_cert: Path  # the camera's certificate, registered with "AWS IoT"
    device_key: Path
    rogue_ca: Path
    rogue_cert: Path  # a certificate AWS IoT does not know
    rogue_key: Path


def make_pki(folder: Path) -> Pki:
    """A CA standing for Amazon's root CA and AWS IoT, the endpoint's and the camera's certificates, and a rogue CA
    with a certificate of its own, written to `folder`."""

    def write(name: str, data: bytes) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    def pem(cert) -> bytes:
        return cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(key) -> bytes:
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    ca_key, rogue_ca_key, server_key, device_key, rogue_key = (ec.generate_private_key(ec.SECP256R1()) for _ in "12345")
    ca = _certificate("Test Root CA", ca_key, "Test Root CA", ca_key, ca=True)
    rogue_ca = _certificate("Rogue CA", rogue_ca_key, "Rogue CA", rogue_ca_key, ca=True)
    return Pki(
        ca=write("ca.pem", pem(ca)),
        server_cert=write(
            "server.pem",
            pem(_certificate(ENDPOINT, server_key, "Test Root CA", ca_key, ip="127.0.0.1", dns=ENDPOINT)),
        ),
        server_key=write("server.key", key_pem(server_key)),
        device_cert=write("certificate.pem.crt", pem(_certificate(THING, device_key, "Test Root CA", ca_key))),
        device_key=write("private.pem.key", key_pem(device_key)),
        rogue_ca=write("rogue-ca.pem", pem(rogue_ca)),
        rogue_cert=write("rogue.pem.crt", pem(_certificate(THING, rogue_key, "Rogue CA", rogue_ca_key))),
        rogue_key=write("rogue.pem.key", key_pem(rogue_key)),
    )


# ---- the credentials provider ----------------------------------------------------------------------------


class CredentialsProvider(ThreadingHTTPServer):
    """AWS IoT's credentials endpoint in miniature: mutual TLS, then the credentials JSON (or a planned error)."""

    daemon_threads = True

    def __init__(self, pki: Pki, clock) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki.server_cert, pki.server_key)
        context.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no answer
        context.load_verify_locations(pki.ca)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.clock = clock  # () -> aware datetime: the expiration it hands out is an hour from this
        self.requests: list[dict] = []
        self.errors: list[tuple[int, dict]] = []  # answered (in order) instead of credentials
        self.issued = 0

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def answer(self) -> tuple[int, dict]:
        if self.errors:
            return self.errors.pop(0)
        self.issued += 1
        return 200, {
            "credentials": {
                "accessKeyId": f"ASIAIOTTESTKEY{self.issued:06d}",
                "secretAccessKey": f"secret-{self.issued}",
                "sessionToken": f"token-{self.issued}",
                "expiration": (self.clock() + HOUR).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        }


class _Handler(BaseHTTPRequestHandler):
    server: CredentialsProvider

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        peer = x509.load_der_x509_certificate(self.connection.getpeercert(binary_form=True))
        self.server.requests.append(
            {
                "path": self.path,
                "thing": self.headers.get("x-amzn-iot-thingname"),
                "client_cert": peer.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value,
                "client_cert_issuer": peer.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value,
            }
        )
        status, body = self.server.answer()
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


class ConnectProxy:
    """An HTTP proxy that answers every CONNECT by tunnelling to one address (the local endpoint), whatever host
    was asked for. `target` may be changed between connections."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.asked: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        with client:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = client.recv(4096)
                if not chunk:
                    return
                request += chunk
            self.asked.append(request.split(b"\r\n")[0].decode())
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
                return
            with upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self._relay(client, upstream)

    @staticmethod
    def _relay(client: socket.socket, upstream: socket.socket) -> None:
        sockets = [client, upstream]
        try:
            while True:
                ready, _, _ = select.select(sockets, [], [], 30)
                if not ready:
                    return
                for source in ready:
                    data = source.recv(65536)
                    if not data:
                        return
                    (upstream if source is client else client).sendall(data)
        except OSError:  # either side hung up mid-handshake (a refused certificate does that)
            return

    def close(self) -> None:
        self._listener.close()
