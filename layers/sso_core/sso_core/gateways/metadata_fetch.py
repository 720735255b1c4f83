"""Fetching an IdP's metadata from a URL an admin typed in (Entra's "App Federation Metadata Url").

The URL is admin input that makes this service open a connection, so the fetch is guarded against being pointed
inwards (server-side request forgery):

- https only, with the certificate verified against the URL's host name (SNI and Host are the host name);
- the host is resolved ONCE; if ANY address is not a public unicast address (private, loopback, link-local,
  unspecified, multicast, reserved, shared 100.64/10, the instance metadata service, or an IPv4-mapped / NAT64
  form of those) nothing is fetched; the connection then goes to the address that was checked, so a second
  resolution cannot answer differently (DNS rebinding);
- at most ``max_bytes`` are read (the body is streamed and cut), within ``timeout_seconds`` in total (name
  resolution included);
- redirects: at most three, to https on the same host only (each hop resolved and checked again); any other
  redirect is refused;
- exact ``host:port`` origins of ``allow_origins`` skip the address check and may use plain http: the local
  stack lists its own demo IdP there and nothing else; deployments leave it empty.

Every refusal is a 400 with its own code and a sentence an admin can act on.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from sso_core.models.errors import DomainError

MAX_METADATA_URL_BYTES = 512 * 1024
MAX_URL_LENGTH = 2048
MAX_REDIRECTS = 3
DEFAULT_TIMEOUT_SECONDS = 5.0
_CHUNK = 16 * 1024
_CONTROL_OR_SPACE = re.compile(r"[\s\x00-\x1f\x7f]")
_REDIRECTS = (301, 302, 303, 307, 308)

# Not caught by ipaddress's own flags on every Python version, or named here so the rule reads in one place.
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_IMDS = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Resolver = Callable[[str, int], Sequence[str]]


class MetadataUrlError(DomainError):
    status = 400
    code = "metadata_url_invalid"
    default_message = "The metadata URL could not be used."


class MetadataUrlNotHttps(MetadataUrlError):
    code = "metadata_url_not_https"
    default_message = "The metadata URL must be an https URL with a host name and no user name or fragment."


class MetadataUrlPrivateAddress(MetadataUrlError):
    code = "metadata_url_private_address"
    default_message = "The metadata URL's host resolves to a private or reserved address; use the IdP's public URL."


class MetadataUrlRedirect(MetadataUrlError):
    code = "metadata_url_redirect"
    default_message = "The metadata URL redirects elsewhere; give the final https URL on the IdP's own host."


class MetadataUrlTooLarge(MetadataUrlError):
    code = "metadata_url_too_large"
    default_message = "The metadata at this URL is too large."


class MetadataUrlTimeout(MetadataUrlError):
    code = "metadata_url_timeout"
    default_message = "The metadata URL did not answer in time."


class MetadataUrlUnreachable(MetadataUrlError):
    code = "metadata_url_unreachable"
    default_message = "The metadata URL could not be reached (name, connection or TLS certificate)."


class MetadataUrlBadStatus(MetadataUrlError):
    code = "metadata_url_bad_status"
    default_message = "The metadata URL did not answer 200 OK."


@dataclass(frozen=True)
class FetchPolicy:
    allow_origins: frozenset[str] = frozenset()  # exact "host:port": the local stack's demo IdP only
    ca_bundle: str = ""  # tests: a CA file to trust instead of the system store
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    max_bytes: int = MAX_METADATA_URL_BYTES
    max_redirects: int = MAX_REDIRECTS
    resolver: Resolver | None = field(default=None, compare=False)


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str
    port: int
    path: str
    allow_listed: bool


def refused_address(address: str) -> bool:
    """True unless ``address`` is a public unicast address this service may connect to."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return refused_address(str(ip.ipv4_mapped))
        if ip in _NAT64:
            return refused_address(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
    return (
        ip in _IMDS
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_multicast
        or ip.is_reserved
        or (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED)
        or not ip.is_global
    )


def check_url(url: str, policy: FetchPolicy) -> _Target:
    """The URL's parts, or ``MetadataUrlNotHttps``: https (or an allow-listed origin), a host, nothing else."""
    url = url.strip()
    if not url or len(url) > MAX_URL_LENGTH or _CONTROL_OR_SPACE.search(url):
        raise MetadataUrlNotHttps("The metadata URL is empty, longer than 2048 characters or contains spaces.")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        raise MetadataUrlNotHttps("The metadata URL is not a valid URL.") from None
    if not host or parts.username is not None or parts.password is not None or parts.fragment:
        raise MetadataUrlNotHttps()
    scheme = parts.scheme.lower()
    port = port or (443 if scheme == "https" else 80)
    allow_listed = f"{host}:{port}" in policy.allow_origins and scheme in ("http", "https")
    if scheme != "https" and not allow_listed:
        raise MetadataUrlNotHttps("The metadata URL must use https.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(url, scheme, host, port, path, allow_listed)


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise MetadataUrlUnreachable(f"The host name {host} could not be resolved.") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _resolve_in_time(target: _Target, policy: FetchPolicy, deadline: float) -> list[str]:
    """The resolver's answer within the fetch's deadline (getaddrinfo itself has no timeout)."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        future = pool.submit(policy.resolver or _resolve, target.host, target.port)
        return list(future.result(timeout=_remaining(deadline, policy)))
    except FuturesTimeout:
        raise _timed_out(policy) from None
    finally:
        pool.shutdown(wait=False)  # a resolver still waiting ends on its own; nothing uses its answer


def _checked_address(target: _Target, policy: FetchPolicy, deadline: float) -> str:
    addresses = _resolve_in_time(target, policy, deadline)
    if not addresses:
        raise MetadataUrlUnreachable(f"The host name {target.host} has no address.")
    if not target.allow_listed and any(refused_address(a) for a in addresses):
        raise MetadataUrlPrivateAddress()
    return addresses[0]


def fetch_metadata(url: str, policy: FetchPolicy) -> str:
    """The metadata document at ``url`` as text (UTF-8), fetched under the rules above."""
    deadline = time.monotonic() + policy.timeout_seconds
    target = check_url(url, policy)
    for _hop in range(policy.max_redirects + 1):
        response = _get(target, policy, deadline)
        try:
            if response.status in _REDIRECTS:
                location = response.headers.get("location") or ""
                target = _redirect_target(target, location, policy)
                continue
            if response.status != 200:
                raise MetadataUrlBadStatus(f"The metadata URL answered HTTP {response.status}, not 200 OK.")
            body = _read_capped(response, policy, deadline)
        finally:
            response.release_conn()
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise MetadataUrlError("The metadata at this URL is not UTF-8 text.") from None
    raise MetadataUrlRedirect(f"The metadata URL redirects more than {policy.max_redirects} times.")


def _redirect_target(current: _Target, location: str, policy: FetchPolicy) -> _Target:
    if not location:
        raise MetadataUrlRedirect("The metadata URL redirects without saying where.")
    try:
        nxt = check_url(urljoin(current.url, location), policy)
    except MetadataUrlNotHttps:
        raise MetadataUrlRedirect("The metadata URL redirects to a URL that is not https.") from None
    if (nxt.host, nxt.port, nxt.scheme) != (current.host, current.port, current.scheme):
        raise MetadataUrlRedirect(f"The metadata URL redirects to another host ({nxt.host}); give the final URL.")
    return nxt


def _timed_out(policy: FetchPolicy) -> MetadataUrlTimeout:
    return MetadataUrlTimeout(f"The metadata URL did not answer within {policy.timeout_seconds:g} seconds.")


def _remaining(deadline: float, policy: FetchPolicy) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _timed_out(policy)
    return left


def _get(target: _Target, policy: FetchPolicy, deadline: float) -> urllib3.BaseHTTPResponse:
    address = _checked_address(target, policy, deadline)
    left = _remaining(deadline, policy)
    timeout = urllib3.Timeout(connect=left, read=left)
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            target.port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            ca_certs=policy.ca_bundle or None,
            server_hostname=target.host,
            assert_hostname=target.host,
        )
    else:  # an allow-listed origin (local stack)
        pool = urllib3.HTTPConnectionPool(address, target.port, timeout=timeout, retries=False, maxsize=1)
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    if ":" in target.host:
        host_header = f"[{target.host}]" if target.port == default_port else f"[{target.host}]:{target.port}"
    try:
        return pool.urlopen(
            "GET",
            target.path,
            headers={"Host": host_header, "Accept": "application/samlmetadata+xml, application/xml, text/xml"},
            redirect=False,
            retries=False,
            preload_content=False,
            decode_content=False,
            assert_same_host=False,
        )
    except NewConnectionError:  # a subclass of the timeout error in urllib3 2: refused is not slow
        raise MetadataUrlUnreachable(f"The metadata URL refused the connection ({target.host}).") from None
    except Urllib3Timeout:
        raise _timed_out(policy) from None
    except (Urllib3Error, OSError):
        raise MetadataUrlUnreachable(
            f"The metadata URL could not be reached (connection or TLS certificate for {target.host})."
        ) from None


def _read_capped(response: urllib3.BaseHTTPResponse, policy: FetchPolicy, deadline: float) -> bytes:
    too_large = MetadataUrlTooLarge(f"The metadata at this URL is larger than {policy.max_bytes // 1024} KiB.")
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > policy.max_bytes:
        raise too_large
    body = bytearray()
    try:
        while True:
            # read1: one receive at a time, so a server dripping bytes cannot stretch the deadline.
            _remaining(deadline, policy)
            chunk = response.read1(_CHUNK)
            if not chunk:
                return bytes(body)
            body.extend(chunk)
            if len(body) > policy.max_bytes:
                raise too_large
    except MetadataUrlError:
        raise
    except Urllib3Timeout:
        raise _timed_out(policy) from None
    except (Urllib3Error, OSError):
        raise MetadataUrlUnreachable("The connection to the metadata URL broke off.") from None
