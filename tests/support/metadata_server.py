"""A real HTTP(S) server on 127.0.0.1 that serves IdP metadata (or misbehaves) for the metadata-URL tests.

TLS uses a test CA made here: its file is what ``SSO_METADATA_URL_CA_BUNDLE`` / ``FetchPolicy.ca_bundle`` trusts,
and the server's certificate names ``localhost`` only (so an https URL by IP address fails verification).
"""

from __future__ import annotations

import ipaddress
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sso_local.saml_idp import IdpKeys, RealIdp


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0  # seconds before the status line
    content_length: bool = True


class Published:
    """What a test IdP's metadata URL serves right now (its certificates and entity ID, or a failure): a route of
    ``MetadataServer`` that a test changes between reads."""

    def __init__(self, entity_id: str, sso_url: str, *keys: IdpKeys) -> None:
        self.keys = list(keys)
        self.entity_id = entity_id
        self.sso_url = sso_url
        self.failure: Answer | None = None

    def __call__(self) -> Answer:
        if self.failure is not None:
            return self.failure
        first, *rest = self.keys
        xml = RealIdp(self.entity_id, self.sso_url, first).metadata_xml([k.cert_pem for k in rest])
        return Answer(body=xml.encode(), headers=(("content-type", "application/samlmetadata+xml"),))


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_tls_files(folder: Path, host: str = "localhost") -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate chain, server key) files; the server certificate names ``host``."""
    now = datetime.now(UTC) - timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("metadata test CA"))
        .issuer_name(_name("metadata test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    try:
        alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        alt = x509.DNSName(host)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server-key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_file, cert_file, key_file


@dataclass
class MetadataServer:
    """Answers each path from ``routes`` (an ``Answer`` or a callable making one); counts the requests it got."""

    routes: dict[str, Answer | Callable[[], Answer]] = field(default_factory=dict)
    tls: tuple[Path, Path] | None = None  # (certificate chain, key)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (Host header, path)

    def __post_init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self.sni: list[str | None] = []

    def start(self) -> MetadataServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> MetadataServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, path: str = "/metadata", host: str = "localhost") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append((self.headers.get("host", ""), self.path))
                route = server.routes.get(self.path.split("?", 1)[0])
                answer = route() if callable(route) else route
                if answer is None:
                    answer = Answer(404, b"not here")
                if answer.delay:
                    time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers:
                        self.send_header(name, value)
                    if answer.content_length:
                        self.send_header("content-length", str(len(answer.body)))
                    else:
                        self.send_header("connection", "close")
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    pass  # the client gave up (too large, too slow): that is the point of the test
                self.close_connection = True

        return Handler
