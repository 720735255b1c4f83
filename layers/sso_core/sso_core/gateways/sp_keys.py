"""The SP signing key pair, kept in Secrets Manager.

A new deployment gets a key without a manual step: creating the first connection generates one and stores it
(``ensure_sp_keys``, in the functions that create connections: the connections function and the console, with
the operator's rotation function the only ones allowed to write the secret) with a fixed client
request token, so concurrent creations converge on a single key. Every other function only reads it
(``load_sp_keys``); a missing key is ``SpKeyMissing`` (503), never a write. The secret may also
hold a ``next`` certificate (and key) published in the metadata ahead of a rotation, and after the switch the
``previous`` certificate (no key: nothing signs with it any more), still published until it is retired. The
rotation itself (``logic/sp_key_rotation.py``, the ``sp_key_rotation`` operator function, the other writer) reads
the whole secret with ``read_state`` and writes it with ``write_state``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from sso_core.aws_clients import aws_client, reset_clients
from sso_core.clock import utcnow
from sso_core.models.errors import DomainError
from sso_core.observability import logger
from sso_core.saml.certificates import generate_sp_keypair

CACHE_SECONDS = 300
INITIAL_VERSION_TOKEN = "sso-initial-sp-signing-key-000001"


class SpKeyMissing(DomainError):
    status = 503
    code = "sp_key_unavailable"
    default_message = "The service's SAML signing key is not available yet; try again shortly."


@dataclass(frozen=True)
class SpKeys:
    key_pem: str
    cert_pem: str
    next_cert_pem: str | None = None
    next_key_pem: str | None = None
    previous_cert_pem: str | None = None


SECRET_UNREADABLE = "SP key secret unreadable"


def secrets_client() -> Any:
    return aws_client("secretsmanager", "AWS_ENDPOINT_URL_SECRETS_MANAGER")


_cache: dict[str, tuple[float, SpKeys]] = {}
_lock = threading.Lock()


def _parse(secret: str) -> SpKeys:
    data = json.loads(secret)
    current = data["current"]
    nxt = data.get("next") or {}
    previous = data.get("previous") or {}
    return SpKeys(
        current["key_pem"], current["cert_pem"], nxt.get("cert_pem"), nxt.get("key_pem"), previous.get("cert_pem")
    )


def ensure_sp_keys(secret_id: str, common_name: str) -> SpKeys:
    """The SP keys, generating and storing the first pair if there is none (the connections function only)."""
    return load_sp_keys(secret_id, common_name, create_if_missing=True)


def load_sp_keys(secret_id: str, common_name: str, create_if_missing: bool = False) -> SpKeys:
    """The SP keys (cached for a few minutes per process); ``SpKeyMissing`` if none was stored yet."""
    with _lock:
        hit = _cache.get(secret_id)
        if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
        keys = _fetch(secret_id, common_name, create_if_missing)
        _cache[secret_id] = (time.monotonic(), keys)
        return keys


def clear_cache() -> None:
    with _lock:
        _cache.clear()
    reset_clients()


def _fetch(secret_id: str, common_name: str, create_if_missing: bool) -> SpKeys:
    client = secrets_client()
    try:
        return _parse(client.get_secret_value(SecretId=secret_id)["SecretString"])
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        # A secret created by the template has no value until the first key is stored.
        if code != "ResourceNotFoundException":
            # The template's alarm on the SP key counts this line (a metric filter on its message): no key, no SSO.
            logger.error(SECRET_UNREADABLE, extra={"error_code": code, "secret_id": secret_id})
            raise
        if not create_if_missing:
            # Counted by the same alarm; the key is stored when the first connection is created.
            logger.error(SECRET_UNREADABLE, extra={"error_code": code, "secret_id": secret_id, "missing": True})
            raise SpKeyMissing() from None
    key_pem, cert_pem = generate_sp_keypair(common_name, utcnow())
    value = json.dumps({"current": {"key_pem": key_pem, "cert_pem": cert_pem}, "next": None})
    try:
        client.put_secret_value(SecretId=secret_id, SecretString=value, ClientRequestToken=INITIAL_VERSION_TOKEN)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code == "ResourceNotFoundException":  # no secret at all (local stack): create it
            try:
                client.create_secret(Name=secret_id, SecretString=value, ClientRequestToken=INITIAL_VERSION_TOKEN)
            except ClientError as inner:
                if inner.response.get("Error", {}).get("Code") != "ResourceExistsException":
                    raise
        elif code not in ("ResourceExistsException", "InvalidRequestException"):
            raise
    logger.info("SP signing key initialised")
    # Whoever won the race, everyone uses what is stored.
    return _parse(client.get_secret_value(SecretId=secret_id)["SecretString"])


# ---- the rotation's view: the whole secret, read and written by version ----------------------------------------


class SpKeyVersionTaken(Exception):
    """Another write already made a version from the one read (the client request token was used)."""


@dataclass(frozen=True)
class SpKeyState:
    """The secret as stored (``data``: current, next, previous, last_request) and the version it was read at."""

    data: dict[str, Any]
    version_id: str


def read_state(secret_id: str) -> SpKeyState:
    """The stored secret, uncached (the rotation must see the latest version); ``SpKeyMissing`` when empty."""
    client = secrets_client()
    try:
        answer = client.get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        logger.error(SECRET_UNREADABLE, extra={"error_code": code, "secret_id": secret_id})
        if code == "ResourceNotFoundException":
            raise SpKeyMissing() from None
        raise
    return SpKeyState(json.loads(answer["SecretString"]), str(answer["VersionId"]))


def write_state(secret_id: str, data: dict[str, Any], token: str) -> str:
    """Stores ``data`` as a new version under ``token`` (derived from the version read, so that two writers who
    read the same version cannot both succeed); ``SpKeyVersionTaken`` when the token was used for other data."""
    try:
        answer = secrets_client().put_secret_value(
            SecretId=secret_id, SecretString=json.dumps(data), ClientRequestToken=token
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceExistsException":
            raise SpKeyVersionTaken() from None
        raise
    with _lock:
        _cache.pop(secret_id, None)  # this process reads what it wrote; others within CACHE_SECONDS
    return str(answer["VersionId"])
