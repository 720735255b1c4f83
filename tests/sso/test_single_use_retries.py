"""Single-use writes stay correct when the SDK retries a write that succeeded but whose answer was lost.

The retry is botocore's own: ``LostAnswers`` answers botocore's ``needs-retry`` question with "retry now" after
the first attempt of a write succeeded in DynamoDB (moto), so the SDK sends the very same request again, the
call's token included, exactly as it does when a response times out after the write was applied. The write
must then succeed (it is the same login), while a second call, with a token of its own, is still a reuse.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sso_core.dal.logins import AlreadyUsed, LoginStateRepository, RequestUnusable, StoredRequest
from sso_core.dal.table import Table, key

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CONNECTION = "conn_0123456789abcdef0123"
ISSUER = "https://idp.example/"


class LostAnswers:
    """Has botocore resend each write of ``operations`` once after its first attempt succeeded."""

    def __init__(self, client: Any, *operations: str) -> None:
        self.client = client
        self.operations = operations
        self.resent: list[str] = []  # one entry per write whose answer was "lost" and that the SDK sent again

    def __enter__(self) -> LostAnswers:
        for operation in self.operations:
            self.client.meta.events.register_first(f"needs-retry.dynamodb.{operation}", self._needs_retry)
        return self

    def __exit__(self, *exc: object) -> None:
        for operation in self.operations:
            self.client.meta.events.unregister(f"needs-retry.dynamodb.{operation}", self._needs_retry)

    def _needs_retry(self, attempts: int, response: Any, operation: Any, **_: Any) -> int | None:
        if attempts != 1 or response is None:
            return None
        http, _parsed = response
        assert http.status_code == 200, "the first attempt must have been applied for this to be a lost answer"
        self.resent.append(operation.name)
        return 0  # retry at once, with the same request


def _save_request(repo: LoginStateRepository) -> None:
    repo.save_request(StoredRequest("_r1", CONNECTION, "browser", "/", NOW, NOW + timedelta(minutes=10)))


def test_a_retried_assertion_put_is_not_a_replay(table: Table) -> None:
    repo = LoginStateRepository(table)
    with LostAnswers(table.client, "PutItem") as lost:
        repo.remember_assertion(ISSUER, "_a1", NOW + timedelta(minutes=5))  # succeeds although it was sent twice
    assert lost.resent == ["PutItem"]
    stored = table.client.scan(TableName=table.name)["Items"]
    assert [item["sk"]["S"] for item in stored] == ["ASSERTION"]
    # The assertion is now used: a login presenting it again is a replay.
    with pytest.raises(AlreadyUsed):
        repo.remember_assertion(ISSUER, "_a1", NOW + timedelta(minutes=5))


def test_another_call_with_the_same_assertion_is_a_replay(table: Table) -> None:
    repo = LoginStateRepository(table)
    repo.remember_assertion(ISSUER, "_a1", NOW + timedelta(minutes=5))
    with pytest.raises(AlreadyUsed):
        repo.remember_assertion(ISSUER, "_a1", NOW + timedelta(minutes=5))
    repo.remember_assertion(ISSUER, "_a2", NOW + timedelta(minutes=5))  # another assertion is not


def test_a_retried_request_use_still_succeeds(table: Table) -> None:
    repo = LoginStateRepository(table)
    _save_request(repo)
    with LostAnswers(table.client, "UpdateItem") as lost:
        used = repo.consume_request("_r1", CONNECTION, "browser", NOW)  # succeeds although it was sent twice
    assert lost.resent == ["UpdateItem"]
    assert (used.request_id, used.connection_id, used.browser_hash) == ("_r1", CONNECTION, "browser")
    item = table.client.get_item(TableName=table.name, Key=key("AUTHNREQ#_r1", "AUTHNREQ"))["Item"]
    assert item["used_by"]["S"], "the request is marked used"
    # The request is now used: a second use, even from the same browser, is refused.
    with pytest.raises(RequestUnusable) as info:
        repo.consume_request("_r1", CONNECTION, "browser", NOW)
    assert info.value.reason == "request_unknown"


def test_a_second_use_of_a_request_is_refused(table: Table) -> None:
    repo = LoginStateRepository(table)
    _save_request(repo)
    repo.consume_request("_r1", CONNECTION, "browser", NOW)
    with pytest.raises(RequestUnusable) as info:
        repo.consume_request("_r1", CONNECTION, "browser", NOW)
    assert info.value.reason == "request_unknown"
