"""The metadata-URL fetch against real servers on 127.0.0.1: what it reads, and each thing it refuses.

Refused addresses are refused before any connection: the server listening there counts no request.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sso_core.gateways import metadata_fetch as mf
from sso_core.gateways.metadata_fetch import FetchPolicy, fetch_metadata, refused_address
from sso_local.saml_idp import RealIdp
from tests.support.keys import make_keypair
from tests.support.metadata_server import Answer, MetadataServer, make_tls_files

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def metadata_xml() -> str:
    return RealIdp("https://idp.example/entity", "https://idp.example/sso", make_keypair("idp")).metadata_xml()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_tls_files(tmp_path_factory.mktemp("tls"), "localhost")


@pytest.fixture
def https_server(tls_files, metadata_xml) -> Iterator[MetadataServer]:
    _, cert, key = tls_files
    with MetadataServer({"/metadata": Answer(body=metadata_xml.encode())}, tls=(cert, key)) as server:
        yield server


def policy_for(server: MetadataServer, ca: Path | None, host: str = "localhost", **kwargs) -> FetchPolicy:
    """Lets ``host:port`` of the test server past the address check (it is on loopback), nothing else."""
    return FetchPolicy(allow_origins=frozenset({f"{host}:{server.port}"}), ca_bundle=str(ca or ""), **kwargs)


def test_https_metadata_is_read_with_the_certificate_verified_for_the_host_name(https_server, tls_files, metadata_xml):
    ca = tls_files[0]
    assert fetch_metadata(https_server.url(), policy_for(https_server, ca)) == metadata_xml
    assert https_server.requests == [(f"localhost:{https_server.port}", "/metadata")]


def test_a_certificate_not_naming_the_host_is_refused(https_server, tls_files):
    # The server's certificate names localhost; the same server by IP address must fail verification.
    url = https_server.url(host="127.0.0.1")
    with pytest.raises(mf.MetadataUrlUnreachable):
        fetch_metadata(url, policy_for(https_server, tls_files[0], host="127.0.0.1"))


def test_an_untrusted_certificate_is_refused(https_server):
    with pytest.raises(mf.MetadataUrlUnreachable):
        fetch_metadata(https_server.url(), policy_for(https_server, None))  # system trust store: test CA unknown


@pytest.mark.parametrize(
    "url",
    [
        "http://idp.example/metadata",
        "ftp://idp.example/metadata",
        "idp.example/metadata",
        "https://user:pw@idp.example/metadata",
        "https://idp.example/metadata#frag",
        "https://idp.example/meta data",
        "https:///metadata",
        "https://idp.example:99999/metadata",
        "https://" + "a" * 2048 + ".example/",
    ],
)
def test_anything_but_an_https_url_is_refused(url):
    with pytest.raises(mf.MetadataUrlNotHttps) as caught:
        fetch_metadata(url, FetchPolicy())
    assert caught.value.status == 400 and caught.value.code == "metadata_url_not_https"


def test_plain_http_passes_only_for_an_allow_listed_origin(metadata_xml):
    with MetadataServer({"/metadata": Answer(body=metadata_xml.encode())}) as server:
        url = server.url(host="127.0.0.1")
        allowed = FetchPolicy(allow_origins=frozenset({f"127.0.0.1:{server.port}"}))
        assert fetch_metadata(url, allowed) == metadata_xml
        other_port = FetchPolicy(allow_origins=frozenset({f"127.0.0.1:{server.port + 1}"}))
        with pytest.raises(mf.MetadataUrlNotHttps):
            fetch_metadata(url, other_port)
        assert len(server.requests) == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "0.0.0.0"])
def test_loopback_is_refused_without_connecting(https_server, tls_files, host):
    url = f"https://{host}:{https_server.port}/metadata"
    with pytest.raises(mf.MetadataUrlPrivateAddress) as caught:
        fetch_metadata(url, FetchPolicy(ca_bundle=str(tls_files[0])))
    assert caught.value.code == "metadata_url_private_address"
    assert https_server.requests == []


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "127.0.0.2",
        "169.254.169.254",  # the instance metadata service
        "169.254.10.10",
        "100.64.0.1",  # shared address space (carrier-grade NAT)
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fd00:ec2::254",  # the instance metadata service over IPv6
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:10.0.0.1",  # IPv4-mapped
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    ],
)
def test_every_non_public_address_is_refused(address):
    assert refused_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "20.190.128.1", "2606:4700::6810:84e5"])
def test_public_addresses_pass(address):
    assert not refused_address(address)


@pytest.mark.parametrize("literal", ["169.254.169.254", "[fd00:ec2::254]", "10.0.0.1", "[::ffff:127.0.0.1]"])
def test_address_literals_in_the_url_are_checked_too(literal):
    with pytest.raises(mf.MetadataUrlPrivateAddress):
        fetch_metadata(f"https://{literal}/metadata", FetchPolicy(timeout_seconds=1))


def test_a_name_with_one_private_address_among_public_ones_is_refused(https_server):
    policy = FetchPolicy(resolver=lambda host, port: ["93.184.216.34", "10.0.0.5"])
    with pytest.raises(mf.MetadataUrlPrivateAddress):
        fetch_metadata("https://idp.example/metadata", policy)


def test_a_name_that_does_not_resolve_is_unreachable():
    with pytest.raises(mf.MetadataUrlUnreachable):
        fetch_metadata("https://no-such-host.invalid/metadata", FetchPolicy(timeout_seconds=2))


def test_a_redirect_to_another_host_is_refused_and_not_followed(tls_files, metadata_xml):
    _, cert, key = tls_files
    with MetadataServer(tls=(cert, key)) as server:
        elsewhere = f"https://127.0.0.1:{server.port}/metadata"
        server.routes["/metadata"] = Answer(body=metadata_xml.encode())
        server.routes["/moved"] = Answer(302, headers=(("location", elsewhere),))
        with pytest.raises(mf.MetadataUrlRedirect) as caught:
            fetch_metadata(server.url("/moved"), policy_for(server, tls_files[0]))
        assert caught.value.code == "metadata_url_redirect"
        assert [path for _, path in server.requests] == ["/moved"]


def test_a_redirect_on_the_same_host_is_followed_but_not_forever(tls_files, metadata_xml):
    _, cert, key = tls_files
    with MetadataServer(tls=(cert, key)) as server:
        server.routes["/metadata"] = Answer(body=metadata_xml.encode())
        server.routes["/old"] = Answer(301, headers=(("location", "/metadata"),))
        server.routes["/loop"] = Answer(302, headers=(("location", "/loop"),))
        server.routes["/to-http"] = Answer(
            302, headers=(("location", server.url("/metadata").replace("https", "http")),)
        )
        policy = policy_for(server, tls_files[0])
        assert fetch_metadata(server.url("/old"), policy) == metadata_xml
        with pytest.raises(mf.MetadataUrlRedirect, match="more than 3"):
            fetch_metadata(server.url("/loop"), policy)
        with pytest.raises(mf.MetadataUrlRedirect):
            fetch_metadata(server.url("/to-http"), policy)


@pytest.mark.parametrize("content_length", [True, False])
def test_an_oversized_answer_is_cut_and_refused(tls_files, content_length):
    _, cert, key = tls_files
    body = b"<x>" + b"a" * (mf.MAX_METADATA_URL_BYTES + 10) + b"</x>"
    with MetadataServer({"/big": Answer(body=body, content_length=content_length)}, tls=(cert, key)) as server:
        with pytest.raises(mf.MetadataUrlTooLarge) as caught:
            fetch_metadata(server.url("/big"), policy_for(server, tls_files[0]))
    assert caught.value.code == "metadata_url_too_large"


def test_a_slow_server_times_out(tls_files):
    _, cert, key = tls_files
    with MetadataServer({"/slow": Answer(body=b"<x/>", delay=3)}, tls=(cert, key)) as server:
        with pytest.raises(mf.MetadataUrlTimeout) as caught:
            fetch_metadata(server.url("/slow"), policy_for(server, tls_files[0], timeout_seconds=0.5))
    assert caught.value.code == "metadata_url_timeout"


@pytest.mark.parametrize("status", [404, 500, 204])
def test_an_answer_other_than_200_is_refused(tls_files, status):
    _, cert, key = tls_files
    with MetadataServer({"/m": Answer(status, b"")}, tls=(cert, key)) as server:
        with pytest.raises(mf.MetadataUrlBadStatus, match=str(status)):
            fetch_metadata(server.url("/m"), policy_for(server, tls_files[0]))


def test_an_answer_that_is_not_utf8_is_refused(tls_files):
    _, cert, key = tls_files
    with MetadataServer({"/m": Answer(body=b"<x>\xff\xfe</x>")}, tls=(cert, key)) as server:
        with pytest.raises(mf.MetadataUrlError, match="UTF-8"):
            fetch_metadata(server.url("/m"), policy_for(server, tls_files[0]))


def test_nothing_listens_is_unreachable(tls_files):
    with MetadataServer() as server:
        port = server.port
    policy = FetchPolicy(allow_origins=frozenset({f"localhost:{port}"}), ca_bundle=str(tls_files[0]))
    with pytest.raises(mf.MetadataUrlUnreachable):
        fetch_metadata(f"https://localhost:{port}/metadata", policy)


def test_a_name_that_resolves_too_slowly_times_out():
    import threading

    release = threading.Event()

    def stuck_resolver(host: str, port: int) -> list[str]:
        release.wait(10)
        return ["93.184.216.34"]

    try:
        with pytest.raises(mf.MetadataUrlTimeout):
            fetch_metadata("https://idp.example/metadata", FetchPolicy(timeout_seconds=0.3, resolver=stuck_resolver))
    finally:
        release.set()


def test_a_server_dripping_its_answer_cannot_stretch_the_deadline(tls_files):
    """Bytes keep coming, each well within a read timeout; the total deadline still ends the fetch."""
    import socket
    import ssl
    import threading

    _, cert, key = tls_files
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def drip() -> None:
        conn, _ = listener.accept()
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.recv(4096)
            tls.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n")
            while not stop.wait(0.1):
                try:
                    tls.sendall(b"<")
                except OSError:
                    return

    threading.Thread(target=drip, daemon=True).start()
    policy = FetchPolicy(allow_origins=frozenset({f"localhost:{port}"}), ca_bundle=str(tls_files[0]), timeout_seconds=1)
    try:
        with pytest.raises(mf.MetadataUrlTimeout):
            fetch_metadata(f"https://localhost:{port}/metadata", policy)
    finally:
        stop.set()
        listener.close()
