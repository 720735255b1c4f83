"""The ``sp_key_rotation`` function as an operator invokes it (no API route): commands validated, HTTP-shaped events
refused, refusals as status and code, and the Lambda request id making a retried invocation a no-op."""

from __future__ import annotations

from typing import Any

import pytest

from sso_core.dal.table import Table
from sso_local.lambda_runtime import invoke
from sso_local.template import functions
from tests.support.sp_key_rotation import rotate, stored, version_count


@pytest.mark.parametrize(
    ("event", "status", "code"),
    [
        (["stage"], 400, "invalid_request"),
        ({"action": "rotate", "operator": "ops@vendor.example"}, 400, "invalid_request"),
        ({"action": "stage"}, 400, "invalid_request"),  # who acts is required
        ({"action": "stage", "operator": "ops@vendor.example", "days": -1}, 400, "invalid_request"),
        ({"action": "stage", "operator": "ops@vendor.example", "days": 400}, 400, "invalid_request"),
        ({"action": "stage", "operator": "ops@vendor.example", "switch_at": "soon"}, 400, "invalid_request"),
        ({"action": "stage", "operator": "ops@vendor.example", "request_id": "x"}, 400, "invalid_request"),
        ({"action": "stage", "operator": "ops@vendor.example", "key_pem": "mine"}, 400, "invalid_request"),
        ({"action": "show", "operator": "ops@vendor.example", "requestContext": {}}, 403, "forbidden"),
        ({"action": "show", "operator": "ops@vendor.example", "rawPath": "/"}, 403, "forbidden"),
    ],
)
def test_bad_commands_are_refused_and_change_nothing(keyed: Table, event: Any, status: int, code: str) -> None:
    before = version_count()
    answer = invoke(functions()["SpKeyRotationFunction"], event)
    assert answer["status"] == status and answer["error"]["code"] == code, answer
    assert answer["error"]["message"]
    assert version_count() == before


def test_refusals_come_back_with_their_status_and_code(keyed: Table) -> None:
    assert rotate("switch", force=True)["error"]["code"] == "sp_key_nothing_staged"
    assert rotate("retire")["error"]["code"] == "sp_key_nothing_to_retire"
    assert rotate("stage", days=5)["status"] == 200
    refused = rotate("stage")
    assert refused["status"] == 409 and refused["error"]["code"] == "sp_key_next_already_staged"
    early = rotate("switch")
    assert early["status"] == 409 and early["error"]["code"] == "sp_key_switch_too_early"


def test_without_a_key_the_function_answers_503(table: Table) -> None:
    answer = rotate("show")
    assert answer["status"] == 503 and answer["error"]["code"] == "sp_key_unavailable"


def test_steps_through_the_function_and_a_retried_invocation(keyed: Table, sp_keypair: tuple[str, str]) -> None:
    staged = rotate("stage", days=0, request_id="cli-00000001")
    assert staged["status"] == 200, staged
    assert staged["sp_key"]["next"]["switch_at"] and "key_pem" not in str(staged)
    before = version_count()
    assert rotate("stage", days=0, request_id="cli-00000001")["status"] == 200  # the same command, retried
    assert version_count() == before
    switched = rotate("switch", request_id="cli-00000002")  # the switch date (now) has come
    assert switched["status"] == 200, switched
    assert switched["sp_key"]["current"]["fingerprint"] == staged["sp_key"]["next"]["fingerprint"]
    assert stored()["previous"]["cert_pem"] == sp_keypair[1]
    assert rotate("retire")["sp_key"]["previous"] is None
    shown = rotate("show")["sp_key"]
    assert shown["current"]["fingerprint"] == staged["sp_key"]["next"]["fingerprint"] and shown["next"] is None
