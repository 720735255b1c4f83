"""Single-use writes stay correct when the SDK retries a write that succeeded but whose answer was lost.

A retry sends the same parameters again, token included: the tests replay the same call with the same token.
"""

from datetime import UTC, datetime, timedelta

import pytest

from sso_core.dal import logins
from sso_core.dal.logins import AlreadyUsed, LoginStateRepository, RequestUnusable, StoredRequest

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def fixed_token(monkeypatch):
    monkeypatch.setattr(logins.secrets, "token_hex", lambda n=16: "same-call-token")


def test_a_retried_assertion_put_is_not_a_replay(table, fixed_token):
    repo = LoginStateRepository(table)
    repo.remember_assertion("https://idp.example/", "_a1", NOW + timedelta(minutes=5))
    repo.remember_assertion("https://idp.example/", "_a1", NOW + timedelta(minutes=5))  # the retry


def test_another_call_with_the_same_assertion_is_a_replay(table):
    repo = LoginStateRepository(table)
    repo.remember_assertion("https://idp.example/", "_a1", NOW + timedelta(minutes=5))
    with pytest.raises(AlreadyUsed):
        repo.remember_assertion("https://idp.example/", "_a1", NOW + timedelta(minutes=5))


def _request(repo: LoginStateRepository) -> None:
    repo.save_request(
        StoredRequest("_r1", "conn_0123456789abcdef0123", "browser", "/", NOW, NOW + timedelta(minutes=10))
    )


def test_a_retried_request_use_still_succeeds(table, fixed_token):
    repo = LoginStateRepository(table)
    _request(repo)
    repo.consume_request("_r1", "conn_0123456789abcdef0123", "browser", NOW)
    again = repo.consume_request("_r1", "conn_0123456789abcdef0123", "browser", NOW)  # the retry
    assert again.request_id == "_r1"


def test_a_second_use_of_a_request_is_refused(table):
    repo = LoginStateRepository(table)
    _request(repo)
    repo.consume_request("_r1", "conn_0123456789abcdef0123", "browser", NOW)
    with pytest.raises(RequestUnusable) as info:
        repo.consume_request("_r1", "conn_0123456789abcdef0123", "browser", NOW)
    assert info.value.reason == "request_unknown"
