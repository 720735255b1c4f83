"""Each step of the SP key rotation and each of its refusals, on moto's Secrets Manager and DynamoDB: stage, switch,
retire, cancel; retries of one command change nothing twice; two operators racing from one version cannot both
write; every step audited in the operator log, nothing logged or audited carries a key."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from sso_core.config import get_settings
from sso_core.dal.audit import AuditLog
from sso_core.dal.sp_keys import SpKeyRecords
from sso_core.dal.table import Table
from sso_core.gateways import sp_keys
from sso_core.logic import sp_key_rotation
from sso_core.logic.sp_key_rotation import OPERATOR_LOG, SpKeyRotation, fingerprint
from sso_core.models.errors import ConcurrentChange, DomainError, InvalidRequest
from sso_core.models.sp_keys import (
    NextKeyAlreadyStaged,
    NoNextKey,
    NoPreviousKey,
    PreviousKeyNotRetired,
    SwitchTooEarly,
)
from sso_core.observability import logger
from tests.support.clock import FakeClock
from tests.support.sp_key_rotation import OPERATOR, stored, version_count


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def rotation(keyed: Table, clock: FakeClock) -> SpKeyRotation:
    return SpKeyRotation(get_settings(), keyed, clock)


def _operator_entries(table: Table) -> list[dict]:
    return [e.model_dump(mode="json") for e in AuditLog(table).operator_page(OPERATOR_LOG, 50).entries]


def test_stage_stores_a_next_key_with_its_switch_date_and_publishes_its_facts(
    rotation: SpKeyRotation, keyed: Table, clock: FakeClock, sp_keypair: tuple[str, str]
) -> None:
    out = rotation.stage(OPERATOR, "req-stage-0001")
    data = stored()
    assert data["current"]["cert_pem"] == sp_keypair[1]  # still signing with the current key
    assert data["next"]["cert_pem"] != sp_keypair[1] and "PRIVATE KEY" in data["next"]["key_pem"]
    assert out.next is not None and out.next.switch_at == clock.now + timedelta(days=30)  # the default
    assert out.next.fingerprint == fingerprint(data["next"]["cert_pem"])
    assert SpKeyRecords(keyed).staged() == out.next  # what the console and the connections API show
    readers = sp_keys.load_sp_keys(get_settings().sp_key_secret_id, "sso.test")
    assert readers.key_pem == sp_keypair[0] and readers.next_cert_pem == data["next"]["cert_pem"]


def test_stage_takes_a_date_or_a_number_of_days(rotation: SpKeyRotation, clock: FakeClock) -> None:
    out = rotation.stage(OPERATOR, "req-stage-days", days=7)
    assert out.next is not None and out.next.switch_at == clock.now + timedelta(days=7)
    rotation.cancel(OPERATOR, "req-cancel-days")
    when = clock.now + timedelta(days=3, hours=4)
    assert rotation.stage(OPERATOR, "req-stage-date", switch_at=when).next.switch_at == when  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"switch_at": "past"}, "past"),
        ({"switch_at": "far"}, "within 365 days"),
        ({"switch_at": "soon", "days": 3}, "not both"),
    ],
)
def test_stage_refuses_a_bad_switch_date(rotation: SpKeyRotation, clock: FakeClock, kwargs: dict, words: str) -> None:
    moments = {
        "past": clock.now - timedelta(minutes=1),
        "far": clock.now + timedelta(days=366),
        "soon": clock.now + timedelta(days=1),
    }
    kwargs = {**kwargs, "switch_at": moments[kwargs["switch_at"]]}
    before = version_count()
    with pytest.raises(InvalidRequest, match=words):
        rotation.stage(OPERATOR, "req-bad-date", **kwargs)
    assert version_count() == before and stored().get("next") is None


def test_stage_refuses_when_a_next_key_is_already_staged(rotation: SpKeyRotation) -> None:
    first = rotation.stage(OPERATOR, "req-stage-first")
    before = version_count()
    with pytest.raises(NextKeyAlreadyStaged) as refused:
        rotation.stage(OPERATOR, "req-stage-second")
    assert refused.value.status == 409 and refused.value.code == "sp_key_next_already_staged"
    assert version_count() == before
    assert fingerprint(stored()["next"]["cert_pem"]) == first.next.fingerprint  # type: ignore[union-attr]


def test_a_retried_stage_changes_nothing_more_and_audits_once(rotation: SpKeyRotation, keyed: Table) -> None:
    first = rotation.stage(OPERATOR, "req-stage-retry")
    before = version_count()
    again = rotation.stage(OPERATOR, "req-stage-retry")
    assert again.next == first.next and again.message.startswith("Already done")
    assert version_count() == before
    assert [e["action"] for e in _operator_entries(keyed)] == ["sp_key.stage"]


def test_switch_refuses_before_the_date_unless_forced(rotation: SpKeyRotation, clock: FakeClock) -> None:
    staged = rotation.stage(OPERATOR, "req-stage-switch", days=10)
    before = version_count()
    with pytest.raises(SwitchTooEarly) as refused:
        rotation.switch(OPERATOR, "req-switch-early")
    assert refused.value.code == "sp_key_switch_too_early" and "force" in refused.value.message
    assert version_count() == before
    out = rotation.switch(OPERATOR, "req-switch-forced", force=True)
    assert out.current.fingerprint == staged.next.fingerprint  # type: ignore[union-attr]
    assert out.next is None and out.previous is not None


def test_switch_on_the_date_makes_next_current_and_keeps_the_old_as_previous(
    rotation: SpKeyRotation, keyed: Table, clock: FakeClock, sp_keypair: tuple[str, str]
) -> None:
    rotation.stage(OPERATOR, "req-stage-ondate", days=30)
    staged = stored()["next"]
    clock.advance(days=30)
    rotation.switch(OPERATOR, "req-switch-ondate")
    data = stored()
    assert data["current"] == {"key_pem": staged["key_pem"], "cert_pem": staged["cert_pem"]}
    assert data["next"] is None
    assert data["previous"]["cert_pem"] == sp_keypair[1] and "key_pem" not in data["previous"]  # no key kept
    assert SpKeyRecords(keyed).staged() is None
    readers = sp_keys.load_sp_keys(get_settings().sp_key_secret_id, "sso.test")
    assert readers.key_pem == staged["key_pem"] and readers.previous_cert_pem == sp_keypair[1]
    # A retry of the switch (Lambda retries keep the request id) changes nothing more.
    before = version_count()
    assert rotation.switch(OPERATOR, "req-switch-ondate").message.startswith("Already done")
    assert version_count() == before


def test_switch_refuses_without_a_staged_key(rotation: SpKeyRotation) -> None:
    with pytest.raises(NoNextKey) as refused:
        rotation.switch(OPERATOR, "req-switch-nothing", force=True)
    assert refused.value.code == "sp_key_nothing_staged"


def test_retire_drops_the_previous_certificate_and_refuses_when_there_is_none(
    rotation: SpKeyRotation, keyed: Table
) -> None:
    with pytest.raises(NoPreviousKey) as refused:
        rotation.retire(OPERATOR, "req-retire-early")
    assert refused.value.code == "sp_key_nothing_to_retire"
    rotation.stage(OPERATOR, "req-stage-r")
    rotation.switch(OPERATOR, "req-switch-r", force=True)
    # A new stage waits until the previous key is retired (three certificates would be published otherwise).
    with pytest.raises(PreviousKeyNotRetired):
        rotation.stage(OPERATOR, "req-stage-too-soon")
    out = rotation.retire(OPERATOR, "req-retire")
    assert out.previous is None and stored()["previous"] is None
    assert [e["action"] for e in _operator_entries(keyed)] == [
        "sp_key.retire",
        "sp_key.switch",
        "sp_key.stage",
    ]


def test_cancel_drops_the_staged_key_before_the_switch(
    rotation: SpKeyRotation, keyed: Table, sp_keypair: tuple[str, str]
) -> None:
    with pytest.raises(NoNextKey):
        rotation.cancel(OPERATOR, "req-cancel-nothing")
    rotation.stage(OPERATOR, "req-stage-c")
    out = rotation.cancel(OPERATOR, "req-cancel")
    assert out.next is None and stored()["next"] is None and stored()["current"]["cert_pem"] == sp_keypair[1]
    assert SpKeyRecords(keyed).staged() is None
    assert rotation.stage(OPERATOR, "req-stage-after-cancel").next is not None  # a new stage may follow


def test_two_operators_staging_from_the_same_version_cannot_both_write(
    rotation: SpKeyRotation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second stage read the version the first one replaced (its read raced the first write): its write uses
    the same client request token, which Secrets Manager refuses for other content."""
    stale = sp_keys.read_state(get_settings().sp_key_secret_id)
    first = rotation.stage("alice@ops.example", "req-race-a")
    reads = iter([stale])
    real_read = sp_key_rotation.read_state
    monkeypatch.setattr(sp_key_rotation, "read_state", lambda secret_id: next(reads, None) or real_read(secret_id))
    with pytest.raises(ConcurrentChange):
        rotation.stage("bob@ops.example", "req-race-b")
    assert fingerprint(stored()["next"]["cert_pem"]) == first.next.fingerprint  # type: ignore[union-attr]


def test_no_key_no_rotation(table: Table, clock: FakeClock) -> None:
    """Before the first connection there is no key to rotate: 503, nothing written."""
    with pytest.raises(DomainError) as refused:
        SpKeyRotation(get_settings(), table, clock).stage(OPERATOR, "req-no-key")
    assert refused.value.status == 503 and refused.value.code == "sp_key_unavailable"


def test_audit_entries_and_logs_name_fingerprints_never_keys(
    rotation: SpKeyRotation, keyed: Table, caplog: pytest.LogCaptureFixture, sp_keypair: tuple[str, str]
) -> None:
    caplog.set_level(logging.INFO, logger=logger.name)
    staged = rotation.stage(OPERATOR, "req-audit-stage")
    rotation.switch(OPERATOR, "req-audit-switch", force=True)
    entries = _operator_entries(keyed)
    switch, stage = entries
    assert stage["actor"] == {"kind": "operator", "email": OPERATOR, "role": "operator"}
    assert stage["before"]["current"] == fingerprint(sp_keypair[1]) and stage["before"]["next"] is None
    assert stage["after"]["next"]["fingerprint"] == staged.next.fingerprint  # type: ignore[union-attr]
    assert switch["after"]["current"] == staged.next.fingerprint  # type: ignore[union-attr]
    assert switch["after"]["previous"] == fingerprint(sp_keypair[1])
    lines = [logger.registered_formatter.format(r) for r in caplog.records]  # as the function writes them
    assert any("SP signing key stage" in line and staged.next.fingerprint in line for line in lines)  # type: ignore[union-attr]
    assert any("SP signing key switch" in line for line in lines)
    text = json.dumps(entries) + "\n".join(lines)
    assert "PRIVATE KEY" not in text and "CERTIFICATE-----" not in text


def test_the_operator_log_is_not_a_tenants_log(rotation: SpKeyRotation, keyed: Table) -> None:
    rotation.stage(OPERATOR, "req-own-log")
    assert AuditLog(keyed).page("sp_key", 50).entries == []
    assert AuditLog(keyed).page("OPERATOR", 50).entries == []


def test_show_reports_the_keys_without_writing(rotation: SpKeyRotation, sp_keypair: tuple[str, str]) -> None:
    before = version_count()
    out = rotation.show()
    assert out.current.fingerprint == fingerprint(sp_keypair[1]) and out.next is None and out.previous is None
    assert version_count() == before


def test_the_outbox_is_untouched_when_no_connection_signs(rotation: SpKeyRotation, tmp_path: Path) -> None:
    out = rotation.stage(OPERATOR, "req-no-tenants")
    assert out.owners_notified == 0 and not list((tmp_path / "outbox").glob("*.eml"))
