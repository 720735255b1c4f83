"""Review finding 6: one place writes the SP signing key. Creating a connection stores the first key; the public
metadata, certificate, login and ACS functions only read it (their IAM policies grant GetSecretValue only, see
tests/infrastructure/test_review_template.py), so here no call of theirs may write a secret.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from sso_core.aws_clients import reset_clients
from sso_core.gateways import sp_keys
from tests.support.sso_fixtures import SP_KEY_SECRET_ID
from tests.support.sso_world import SsoWorld

pytestmark = pytest.mark.integration

WRITES = {"CreateSecret", "PutSecretValue", "UpdateSecret", "UpdateSecretVersionStage"}


@pytest.fixture
def secret_calls() -> Iterator[list[str]]:
    """Names of the Secrets Manager operations the functions make (a botocore event hook on their client)."""
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    # On the default session, so every client made from now on (clients are re-made when caches clear) reports.
    events = boto3._get_default_session().events
    events.register("before-call.secrets-manager", record)
    reset_clients()
    yield calls
    events.unregister("before-call.secrets-manager", record)
    reset_clients()


def test_metadata_before_any_connection_exists_creates_nothing(api, secret_calls: list[str]) -> None:
    unknown = "conn_" + "0" * 20
    for path in (f"/saml/{unknown}/metadata", f"/saml/{unknown}/certificate", f"/saml/{unknown}/login"):
        resp = api.call("GET", path)
        assert resp.status == 404, (path, resp.status, resp.text)
    assert not set(secret_calls) & WRITES
    assert not sp_keys.secrets_client().list_secrets()["SecretList"]


def test_creating_the_first_connection_stores_the_key_and_readers_never_write(
    api, dns, tmp_path, secret_calls: list[str]
) -> None:
    fresh = SsoWorld(api, dns, tmp_path / "outbox")  # no key stored beforehand, as after a first deployment
    fresh.verify_domain()
    fresh.create_connection()
    assert "PutSecretValue" in secret_calls or "CreateSecret" in secret_calls  # the connections function wrote it
    sp_keys.clear_cache()
    secret_calls.clear()
    assert "BEGIN CERTIFICATE" in fresh.api.call("GET", f"/saml/{fresh.connection_id}/certificate").text
    fresh.sp_metadata()
    assert secret_calls and not set(secret_calls) & WRITES


def test_readers_refuse_cleanly_when_the_key_is_missing(api, dns, tmp_path, secret_calls: list[str]) -> None:
    """A connection whose key vanished (secret emptied by hand): readers answer 503 and write nothing."""
    fresh = SsoWorld(api, dns, tmp_path / "outbox")
    fresh.verify_domain()
    fresh.create_connection()
    client = sp_keys.secrets_client()
    client.delete_secret(SecretId=SP_KEY_SECRET_ID, ForceDeleteWithoutRecovery=True)
    client.create_secret(Name=SP_KEY_SECRET_ID, Description="empty, as the template makes it")
    sp_keys.clear_cache()
    secret_calls.clear()
    for path in (f"/saml/{fresh.connection_id}/metadata", f"/saml/{fresh.connection_id}/certificate"):
        resp = fresh.api.call("GET", path)
        assert resp.status == 503, (path, resp.status, resp.text)
        assert resp.json()["error"]["code"] == "sp_key_unavailable"
    assert secret_calls and not set(secret_calls) & WRITES
