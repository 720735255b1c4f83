"""Review finding 2 (b, c): the login trace stays useful under junk, and the lookup by reference is a key read.

Refusals decided before any signature verifies (unauthenticated junk: garbage, DOCTYPE, bad signatures, ...) are
counted in one item per connection, reason and hour instead of one item each; their reference still leads to that
item. Refusals after a verified signature keep one item each, stored so that their reference is found with one
GetItem, never a query over the connection's partition.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from sso_local.lambda_runtime import load_handler_module
from sso_local.template import functions
from tests.support import tampering
from tests.support.sso_checks import post, refused, stored_items, trace_entry
from tests.support.sso_world import SsoWorld, reference_of
from tests.support.tampering import assertion_of, one

pytestmark = pytest.mark.integration

FLOOD = 25  # posts of each kind


def _trace_items() -> list[dict[str, Any]]:
    return [i for i in stored_items("login_trace") + stored_items("login_trace_aggregate")] + stored_items(
        "login_trace_ref"
    )


@pytest.fixture
def trace_reads(ready: SsoWorld) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """(operation, parameters) of every DynamoDB call the connections function makes from now on."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, params))

    module = load_handler_module(functions()["ConnectionsFunction"])
    client = module.table().client
    client.meta.events.register("provide-client-params.dynamodb", record)
    yield calls
    client.meta.events.unregister("provide-client-params.dynamodb", record)


def _flood(world: SsoWorld) -> list[str]:
    started = world.start()
    signed = world.response_xml(started.request_id)
    root = tampering.parse(signed)
    one(assertion_of(root), "saml:Subject/saml:NameID").text = "ceo@acme.test"  # breaks the signature
    broken = tampering.serialise(root)
    references = []
    for n in range(FLOOD):
        garbage = base64.b64encode(f"<junk n='{n}'/>not xml".encode()).decode()
        for resp in (
            world.post_acs(garbage, started.cookies),
            post(world, '<!DOCTYPE r [<!ENTITY e "x">]>' + signed, started),
            post(world, broken, started),
        ):
            assert resp.status in (400, 403), resp.status
            references.append(reference_of(resp))
    return references


def test_junk_is_counted_not_stored_one_by_one(ready: SsoWorld) -> None:
    references = _flood(ready)
    items = _trace_items()
    assert len(items) <= 3, len(items)  # one per reason (and hour), however many posts
    by_reason = {i["reason"]: i for i in items}
    assert set(by_reason) == {"malformed", "doctype_forbidden", "signature_invalid"}
    assert all(int(i["count"]) == FLOOD for i in items)
    # Any junk reference still leads to its counter, which says how many and since when.
    entry = trace_entry(ready, references[0])
    assert entry["reason"] == "malformed" and str(FLOOD) in entry["detail"]
    assert trace_entry(ready, references[-1])["reason"] == "signature_invalid"
    assert ready.trace()[0]["reason"] == "signature_invalid"  # the newest activity first


def test_a_real_failure_after_a_flood_is_found_with_one_get_item(
    ready: SsoWorld, trace_reads: list[tuple[str, dict[str, Any]]]
) -> None:
    _flood(ready)
    resp = ready.login("stranger@acme.test")  # a verified signature, an email with no membership
    entry = refused(ready, resp, "user_not_invited", 403)
    reference = reference_of(resp)
    trace_reads.clear()
    assert trace_entry(ready, reference)["reference"] == reference == entry["reference"]
    operations = [name for name, _ in trace_reads]
    assert "Query" not in operations and "Scan" not in operations, operations
    # Besides the connection and the tenant's SSO access (each route checks them), one key read finds the entry.
    trace_gets = [
        p for name, p in trace_reads if name == "GetItem" and p["Key"]["sk"]["S"] not in ("CONN", "SSO_ACCESS")
    ]
    assert len(trace_gets) == 1, trace_reads
    # Stored once in the listing and once under its reference: two items, not one per junk post.
    assert len([i for i in _trace_items() if i.get("reference") == reference]) == 2


def test_a_reference_of_another_connection_is_not_found(ready: SsoWorld, globex: SsoWorld) -> None:
    resp = globex.login("nobody@globex.test")
    theirs = reference_of(resp)
    found = ready.owner("GET", f"/connections/{ready.connection_id}/logins", query=f"reference={theirs}")
    assert found.status == 200 and found.json()["logins"] == []
    junk = reference_of(globex.post_acs("bm90IHhtbA==", {}))
    found = ready.owner("GET", f"/connections/{ready.connection_id}/logins", query=f"reference={junk}")
    assert found.status == 200 and found.json()["logins"] == []
