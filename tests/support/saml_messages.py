"""The parties of the SAML engine tests (one SP, two Entra-shaped IdPs) and fresh responses between them."""

from __future__ import annotations

from collections.abc import Callable

from sso_core.saml import SpIdentity, ValidatedLogin
from sso_local.saml_idp import RealIdp

SP_ENTITY_ID = "https://sso.example.com/saml/sp"
ACS_URL = "https://sso.example.com/saml/acs"
SIGN_IN_URL = "https://sso.example.com/login"
IDP_A_ENTITY_ID = "https://sts.windows.net/aaaaaaaa-0000-4000-8000-000000000001/"
IDP_A_SSO_URL = "https://login.microsoftonline.com/aaaaaaaa-0000-4000-8000-000000000001/saml2"
IDP_B_ENTITY_ID = "https://sts.windows.net/bbbbbbbb-0000-4000-8000-000000000002/"
IDP_B_SSO_URL = "https://login.microsoftonline.com/bbbbbbbb-0000-4000-8000-000000000002/saml2"
REQUEST_ID = "_4f6c2a9e0b7d41c3a8e5f1d2c3b4a59687766554"
USER = "alice@contoso.com"

Validate = Callable[..., ValidatedLogin]


def issue(idp: RealIdp, sp: SpIdentity, **kwargs: object) -> str:
    """A fresh response from ``idp`` to ``sp`` (Entra-shaped unless told otherwise)."""
    arguments: dict[str, object] = {"in_response_to": REQUEST_ID, "name_id": USER}
    arguments.update(kwargs)
    return idp.response_xml(sp_entity_id=sp.entity_id, acs_url=sp.acs_url, **arguments)  # type: ignore[arg-type]
