"""What the provisioning tests share besides fixtures: the SCIM resource types, the tenants' domains, and the
owner's steps (a ready SSO world, turning provisioning on)."""

from __future__ import annotations

from typing import Any

from scim2_models import EnterpriseUser, ScimPolicy, User

from tests.support.sso_world import SsoWorld

ScimUser = User[EnterpriseUser]
# The email type of SCIM resources refuses special-use names such as .test, so these tenants use .example domains.
ACME_DOMAIN = "acme.example"
GLOBEX_DOMAIN = "globex.example"

ENTRA_POLICY = ScimPolicy(
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


def sso_ready(world: SsoWorld) -> SsoWorld:
    """Verified domain, connection, IdP imported, SSO on; nobody invited."""
    world.verify_domain()
    world.create_connection()
    assert world.import_idp().status == 200
    assert world.enable().status == 200
    return world


def turn_on(world: SsoWorld) -> dict[str, Any]:
    """The owner turns provisioning on: the base URL and the token, shown once."""
    resp = world.owner("POST", "/provisioning/scim-token")
    assert resp.status == 201, resp.text
    return dict(resp.json())
