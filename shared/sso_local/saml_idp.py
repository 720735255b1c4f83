"""A real SAML IdP for the tests and the local stack's demo IdP: pysaml2's IdP side (``saml2.server.Server``),
signing in process with our backend (pysaml2 would otherwise run the xmlsec1 program).

Responses are shaped like Microsoft Entra ID's: the assertion signed (RSA-SHA256, exclusive
C14N), the Response not, NameID emailAddress, Entra's claim URIs, Destination set.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import do_key_descriptor, entity_descriptor
from saml2.saml import NameID
from saml2.server import Server

from sso_core.saml.certificates import base64_body
from sso_core.saml.crypto_backend import InProcessBackend
from sso_core.saml.xml_names import DIGEST_SHA256, NAMEID_FORMAT_EMAIL, SIG_RSA_SHA256

CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
MS_CLAIMS = "http://schemas.microsoft.com/identity/claims/"
PASSWORD_CONTEXT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
ATTRNAME_UNSPECIFIED = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"


ENTRA_TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def entra_claims(
    email: str,
    given: str = "Alice",
    surname: str = "Martin",
    object_id: str = "4b8e3f5c-1a2b-4c3d-9e8f-0a1b2c3d4e5f",
) -> dict[str, list[str]]:
    return {
        MS_CLAIMS + "tenantid": [ENTRA_TENANT_ID],
        MS_CLAIMS + "objectidentifier": [object_id],
        MS_CLAIMS + "displayname": [f"{given} {surname}"],
        MS_CLAIMS + "identityprovider": ["https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/"],
        "http://schemas.microsoft.com/claims/authnmethodsreferences": [
            "http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password"
        ],
        CLAIMS + "givenname": [given],
        CLAIMS + "surname": [surname],
        CLAIMS + "emailaddress": [email],
        CLAIMS + "name": [email],
    }


@dataclass(frozen=True)
class IdpKeys:
    key_pem: str
    cert_pem: str


class RealIdp:
    """One IdP (entity ID, key, certificate) that knows one SP from its metadata.

    Without ``sp_metadata`` it knows no SP: enough to publish its own metadata, not to answer a request.
    """

    def __init__(
        self, entity_id: str, sso_url: str, keys: IdpKeys, sp_metadata: str | None = None, lifetime_minutes: int = 60
    ):
        self.entity_id = entity_id
        self.sso_url = sso_url
        self.keys = keys
        settings: dict[str, object] = {
            "entityid": entity_id,
            "crypto_backend": "XMLSecurity",  # placeholder, replaced below before any use
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [
                            (sso_url, BINDING_HTTP_POST),
                            (sso_url, BINDING_HTTP_REDIRECT),
                        ]
                    },
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": lifetime_minutes},
                            "name_form": ATTRNAME_UNSPECIFIED,
                        }
                    },
                    "name_id_format": [NAMEID_FORMAT_EMAIL],
                }
            },
        }
        if sp_metadata is not None:
            settings["metadata"] = {"inline": [sp_metadata]}
        config = IdPConfig().load(settings)
        self.server = Server(config=config)
        self.server.sec.crypto = InProcessBackend(signing_key_pem=keys.key_pem, signing_cert_pem=keys.cert_pem)
        self.server.sec.my_cert = base64_body(keys.cert_pem)

    def response_xml(
        self,
        *,
        sp_entity_id: str,
        acs_url: str,
        in_response_to: str | None,
        name_id: str,
        name_id_format: str = NAMEID_FORMAT_EMAIL,
        claims: Mapping[str, Sequence[str]] | None = None,
        sign_response: bool = False,
        sign_assertion: bool = True,
    ) -> str:
        identity = dict(claims) if claims is not None else entra_claims(name_id)
        response = self.server.create_authn_response(
            identity,
            in_response_to,
            acs_url,
            sp_entity_id,
            name_id=NameID(format=name_id_format, text=name_id),
            authn={"class_ref": PASSWORD_CONTEXT, "authn_instant": int(time.time())},
            sign_response=sign_response,
            sign_assertion=sign_assertion,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )
        return str(response)

    def error_response_xml(
        self, *, acs_url: str, in_response_to: str, second_level: str, message: str = "Sign-in failed"
    ) -> str:
        """An error Response (top-level Responder, ``second_level`` below it) with ``message`` as its
        StatusMessage, as Entra sends one (``AADSTS50105: ...``)."""
        response = self.server.create_error_response(in_response_to, acs_url, (second_level, message))
        return str(response)

    def metadata_xml(self, extra_certificates: Sequence[str] = ()) -> str:
        """Federation metadata as pysaml2 publishes it, with every signing certificate."""
        descriptor = entity_descriptor(self.server.config)
        bodies = [base64_body(self.keys.cert_pem), *(base64_body(c) for c in extra_certificates)]
        descriptor.idpsso_descriptor.key_descriptor = do_key_descriptor(bodies, use="signing")
        return descriptor.to_string().decode("utf-8")


def b64(xml: str | bytes) -> str:
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    return base64.b64encode(data).decode("ascii")
