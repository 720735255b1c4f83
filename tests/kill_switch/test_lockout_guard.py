"""Password login goes off only behind working SSO and a break-glass owner; every refusal has its own code.

The break-glass owner is an active owner membership whose email is outside the domain (and outside any
other domain of the tenant with password login off); the caller's owner token alone does not count.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import error_code
from tests.support.sso_world import BREAK_GLASS, SsoWorld

pytestmark = pytest.mark.integration


def password_login(world: SsoWorld, enabled: bool, domain: str | None = None) -> Any:
    return world.owner("PUT", f"/domains/{domain or world.domain}/password-login", {"enabled": enabled})


def refused(resp: Any, code: str) -> bool:
    return resp.status == 409 and error_code(resp) == code and bool(resp.json()["error"]["message"])


def user_id(world: SsoWorld, email: str) -> str:
    users = world.owner("GET", "/users").json()["users"]
    return next(u["id"] for u in users if u["email"] == email)


def test_no_connection_covers_the_domain(world: SsoWorld) -> None:
    world.verify_domain()
    assert refused(password_login(world, False), "no_enabled_connection")


def test_a_draft_connection_is_not_enough(world: SsoWorld) -> None:
    world.verify_domain()
    world.create_connection()
    assert world.import_idp().status == 200
    assert refused(password_login(world, False), "no_enabled_connection")


def test_an_unverified_domain_is_refused(world: SsoWorld) -> None:
    assert world.owner("POST", "/domains", {"domain": world.domain}).status == 201
    assert refused(password_login(world, False), "no_enabled_connection")


def test_a_disabled_connection_is_not_enough(proven: SsoWorld) -> None:
    assert proven.owner("PUT", f"/connections/{proven.connection_id}/status", {"enabled": False}).status == 200
    assert refused(password_login(proven, False), "no_enabled_connection")


def test_sso_must_have_worked_once(ready: SsoWorld) -> None:
    ready.invite_and_accept(BREAK_GLASS, role="owner")
    assert refused(password_login(ready, False), "sso_not_proven")
    refused_login = ready.login("stranger@acme.test")  # a refused login proves nothing
    assert refused_login.status == 403
    assert refused(password_login(ready, False), "sso_not_proven")


def test_the_callers_token_is_not_a_break_glass_owner(ready: SsoWorld) -> None:
    assert ready.login().status == 302
    # The caller is owner@acme.example by token only: no membership, so nothing guarantees they stay.
    assert refused(password_login(ready, False), "no_break_glass_owner")


def test_owners_inside_the_domain_and_non_owners_do_not_count(ready: SsoWorld) -> None:
    assert ready.login().status == 302
    ready.invite_and_accept("ceo@acme.test", role="owner")  # signs in by SSO: locked out with everyone else
    ready.invite_and_accept("helper@acme.example", role="admin")  # outside, but not an owner
    assert refused(password_login(ready, False), "no_break_glass_owner")


def test_an_owner_whose_own_domain_has_password_login_off_does_not_count(ready: SsoWorld) -> None:
    # Two SSO domains, one owner in each: each is the other domain's break-glass owner, but not both at once.
    ready.verify_domain("beta.test")
    beta = SsoWorld(ready.api, ready.dns, ready.outbox, domain="beta.test", keys=ready.keys)
    beta.idp_entity_id = "https://sts.windows.net/beta-tenant-id/"
    beta.create_connection()
    assert beta.import_idp().status == 200 and beta.enable().status == 200
    ready.invite_and_accept("dave@acme.test", role="owner")
    ready.invite_and_accept("carol@beta.test", role="owner")
    assert ready.login("dave@acme.test").status == 302 and beta.login("carol@beta.test").status == 302

    assert password_login(ready, False).status == 200  # carol@beta.test still signs in with a password
    # beta.test off would leave carol (beta.test) and dave (acme.test, off) both behind SSO only.
    assert refused(password_login(beta, False), "no_break_glass_owner")
    # And carol, acme.test's only break-glass owner, cannot be removed.
    assert refused(ready.owner("DELETE", f"/users/{user_id(ready, 'carol@beta.test')}"), "break_glass_owner_required")
    ready.invite_and_accept(BREAK_GLASS, role="owner")
    assert password_login(beta, False).status == 200


def test_password_login_goes_off_once_every_condition_holds(proven: SsoWorld) -> None:
    resp = password_login(proven, False)
    assert resp.status == 200, resp.text
    assert resp.json() == {"domain": proven.domain, "password_login": False, "message": ""}
    assert proven.owner("GET", f"/domains/{proven.domain}").json()["password_login"] is False
    body = proven.api.call("POST", "/login/discover", {"email": "alice@acme.test"}).json()
    assert body["method"] == "sso" and body["password_allowed"] is False
    # Switching it back on needs no condition.
    assert password_login(proven, True).json()["password_login"] is True


def test_the_last_break_glass_owner_cannot_be_removed_or_demoted(proven: SsoWorld) -> None:
    assert password_login(proven, False).status == 200
    boss = user_id(proven, BREAK_GLASS)
    assert refused(proven.owner("DELETE", f"/users/{boss}"), "break_glass_owner_required")
    assert refused(proven.owner("PATCH", f"/users/{boss}", {"role": "admin"}), "break_glass_owner_required")
    assert proven.owner("PATCH", f"/users/{boss}", {"accounts": []}).status == 200  # role unchanged
    # With a second break-glass owner, the first may go.
    proven.invite_and_accept("deputy@acme.example", role="owner")
    assert proven.owner("PATCH", f"/users/{boss}", {"role": "admin"}).status == 200
    deputy = user_id(proven, "deputy@acme.example")
    assert refused(proven.owner("DELETE", f"/users/{deputy}"), "break_glass_owner_required")
    # Password login back on: nobody is needed any more.
    assert password_login(proven, True).status == 200
    assert proven.owner("DELETE", f"/users/{deputy}").status == 204


def test_each_refusal_has_its_own_code() -> None:
    from sso_core.logic.kill_switches import NoBreakGlassOwner, NoEnabledConnection, SsoNotProven
    from sso_core.logic.users import BreakGlassOwnerRequired

    refusals = [NoEnabledConnection, SsoNotProven, NoBreakGlassOwner, BreakGlassOwnerRequired]
    assert all(r.status == 409 for r in refusals)
    assert len({r.code for r in refusals}) == len(refusals)
