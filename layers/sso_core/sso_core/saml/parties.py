"""The two parties of a login as the engine sees them: this SP and one connection's IdP.

Plain values without pysaml2, so that code which only describes a connection (the admin API,
the login routing) does not import the SAML library; ``pysaml2_config`` builds pysaml2's
objects from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sso_core.saml.xml_names import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT

Binding = Literal["post", "redirect"]
BINDINGS = {"post": BINDING_HTTP_POST, "redirect": BINDING_HTTP_REDIRECT}


@dataclass(frozen=True)
class SpIdentity:
    """This service as a SAML SP (one per deployment or per tenant: the engine does not care)."""

    entity_id: str
    acs_url: str
    sign_in_url: str
    key_pem: str
    cert_pem: str
    # During a rotation: the certificate staged to sign next, and after the switch the one that signed before
    # (until retired). Both are published in the metadata; only ``key_pem`` signs.
    next_cert_pem: str | None = None
    previous_cert_pem: str | None = None


@dataclass(frozen=True)
class IdpSettings:
    """One connection's IdP, as stored: certificates are PEM, the only ones that count."""

    entity_id: str
    sso_url: str
    certificates: tuple[str, ...]
    binding: Binding = "post"
    signed_requests: bool = True

    def __post_init__(self) -> None:
        if self.binding not in BINDINGS:
            raise ValueError(f"binding must be one of {sorted(BINDINGS)}")
        if isinstance(self.certificates, str):  # a lone PEM string would iterate as characters
            raise TypeError("certificates must be a tuple of PEM strings")
