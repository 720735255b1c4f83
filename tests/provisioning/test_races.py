"""Two provisioning requests at once, against the moto server (serializable transactions, as DynamoDB): the
uniqueness of userName and email and the version of a group are conditions of the writes themselves, so of two
racing writes exactly one commits and the other gets its SCIM error; nothing is written twice.

The two requests are two ``ScimService`` instances in two threads (as two Lambda instances would be): one handler
module never runs two events at once, so racing through one in-process handler would race its resolver instead.
A barrier in the repository's first write holds both requests until each has read what it decides from.
"""

from __future__ import annotations

import json
import threading

import pytest
from scim2_models import ConflictException

from sso_core.dal.provisioning import ProvisioningRepository
from sso_core.logic.scim import ScimService
from tests.support.provisioning import ACME_DOMAIN
from tests.support.sso_fixtures import make_world

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def tenant(server_api, server_table, dns, tmp_path, acme_idp_keys, sp_keypair):
    from sso_core.gateways import sp_keys

    sp_keys.clear_cache()
    world = make_world(server_api, dns, tmp_path / "outbox", acme_idp_keys, sp_keypair)
    world.domain = ACME_DOMAIN
    world.verify_domain()
    return world, server_table


def _at_once(monkeypatch, method: str, *calls):
    """Run ``calls`` in threads; each waits at ``ProvisioningRepository.<method>`` until all have read."""
    barrier = threading.Barrier(len(calls), timeout=30)
    original = getattr(ProvisioningRepository, method)

    def held(self, *args, **kwargs):
        barrier.wait()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ProvisioningRepository, method, held)
    results: list[object] = [None] * len(calls)

    def run(i, call):
        try:
            results[i] = call()
        except Exception as exc:  # the SCIM error the request would answer with
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    monkeypatch.setattr(ProvisioningRepository, method, original)
    return results


def test_two_creates_of_one_user_make_one_membership(tenant, monkeypatch):
    world, table = tenant
    a, b = (ScimService(table, world.tenant, "https://sso.test/scim/v2") for _ in range(2))
    body_a = json.dumps(
        {"schemas": [CORE], "userName": "race@acme.example", "emails": [{"value": "race@acme.example"}]}
    )
    body_b = json.dumps(
        {"schemas": [CORE], "userName": "RACE@acme.example", "emails": [{"value": "race@acme.example"}]}
    )
    results = _at_once(monkeypatch, "create_member", lambda: a.create_user(body_a), lambda: b.create_user(body_b))
    assert sorted(type(r).__name__ for r in results) == ["ScimResult", "UniquenessException"]
    assert [u["email"] for u in world.owner("GET", "/users").json()["users"]] == ["race@acme.example"]


def test_two_patches_of_one_group_never_lose_a_member(tenant, monkeypatch):
    world, table = tenant
    a, b = (ScimService(table, world.tenant, "https://sso.test/scim/v2") for _ in range(2))
    ids = [
        a.create_user(json.dumps({"schemas": [CORE], "userName": f"m{n}@acme.example"})).body["id"] for n in range(2)
    ]
    group = a.create_group(json.dumps({"schemas": [GROUP], "displayName": "Race"})).body

    def add(service, user_id):
        op = {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}]}
        return service.patch_group(group["id"], json.dumps(op), None)

    results = _at_once(monkeypatch, "write_group", lambda: add(a, ids[0]), lambda: add(b, ids[1]))
    # Both read version 0: one commits, the other is told (409) rather than overwriting it.
    assert sorted(type(r).__name__ for r in results) == ["ConflictException", "ScimResult"]
    winner = ids[0] if not isinstance(results[0], ConflictException) else ids[1]
    members = a.get_group(group["id"], {}).body.get("members", [])
    assert [m["value"] for m in members] == [winner]
    for user_id in ids:  # the loser's member was not half-updated either
        assert a.get_user(user_id, {}).body["meta"]["version"] == ('W/"1"' if user_id == winner else 'W/"0"')
