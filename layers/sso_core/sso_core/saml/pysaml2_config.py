"""One SSO connection as the SAML engine sees it, and the pysaml2 objects built for it.

Why (docs/decisions.md): a pysaml2 configuration is built per connection and holds that
connection's IdP metadata only. pysaml2 looks certificates up by the ``Issuer`` inside the
message, so a shared metadata store would let one tenant's IdP sign for another.
Building a configuration costs milliseconds (metadata parsing, attribute maps), so the
objects are cached per (SP, IdP) value; both are frozen dataclasses, so a changed
certificate or URL is a different key and never hits a stale entry.
"""

from __future__ import annotations

import base64
import binascii
import logging
from functools import lru_cache
from typing import Any

from lxml import etree
from lxml.builder import ElementMaker
from saml2.client import Saml2Client
from saml2.config import SPConfig

from sso_core.saml import saml_schema
from sso_core.saml.certificates import base64_body
from sso_core.saml.crypto_backend import CertificateRef, InProcessBackend
from sso_core.saml.parties import BINDINGS, Binding, IdpSettings, SpIdentity
from sso_core.saml.xml_names import (
    BINDING_HTTP_POST,
    DIGEST_SHA256,
    NAMEID_FORMAT_EMAIL,
    NS_DS,
    NS_MD,
    SIG_RSA_SHA256,
)

# pysaml2 logs whole messages, NameIDs and exception contexts holding the document at INFO
# and ERROR. Our logs must never carry SAML messages (docs/decisions.md, "Observability"): the engine
# reports its own reason codes instead.
logging.getLogger("saml2").setLevel(logging.CRITICAL + 1)
# pysaml2's schema check of signed elements, on libxml2 (see saml_schema.py for the measurement).
saml_schema.install()

CONFIG_CACHE_SIZE = 256
__all__ = ["BINDINGS", "Binding", "IdpSettings", "SpIdentity", "backend_of", "idp_metadata_xml", "sp_client"]

_md = ElementMaker(namespace=NS_MD, nsmap={"md": NS_MD, "ds": NS_DS})
_ds = ElementMaker(namespace=NS_DS, nsmap={"ds": NS_DS})


def idp_metadata_xml(idp: IdpSettings) -> str:
    """The connection's IdP as SAML metadata, the only metadata its pysaml2 config holds."""
    keys = [
        _md.KeyDescriptor(
            _ds.KeyInfo(_ds.X509Data(_ds.X509Certificate(base64_body(pem)))),
            use="signing",
        )
        for pem in idp.certificates
    ]
    descriptor = _md.EntityDescriptor(
        _md.IDPSSODescriptor(
            *keys,
            _md.SingleSignOnService(Binding=BINDINGS[idp.binding], Location=idp.sso_url),
            protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol",
            WantAuthnRequestsSigned="true" if idp.signed_requests else "false",
        ),
        entityID=idp.entity_id,
    )
    return etree.tostring(descriptor, encoding="unicode")


def _config_dict(sp: SpIdentity, idp: IdpSettings | None) -> dict[str, object]:
    sp_service: dict[str, object] = {
        "endpoints": {"assertion_consumer_service": [(sp.acs_url, BINDING_HTTP_POST)]},
        "authn_requests_signed": True if idp is None else idp.signed_requests,
        "want_assertions_signed": True,
        "want_response_signed": False,
        "allow_unsolicited": False,
        "name_id_format": [NAMEID_FORMAT_EMAIL],
        "name_id_format_allow_create": True,
        "allow_unknown_attributes": True,
    }
    config: dict[str, object] = {
        "entityid": sp.entity_id,
        # Placeholder so that pysaml2 does not look for the xmlsec1 program; the security
        # context it builds is replaced at once by ours (``_install_backend``), never used.
        "crypto_backend": "XMLSecurity",
        "signing_algorithm": SIG_RSA_SHA256,
        "digest_algorithm": DIGEST_SHA256,
        "service": {"sp": sp_service},
        "allow_unknown_attributes": True,
    }
    if idp is not None:
        config["metadata"] = {"inline": [idp_metadata_xml(idp)]}
    return config


class _InProcessCertificates:
    """The connection's metadata as pysaml2's signature check sees it: the same store, except
    that a certificate the backend holds comes back as a ``CertificateRef`` (resolved in memory)
    instead of a string pysaml2 would write to a temporary file before every check."""

    def __init__(self, store: Any, backend: InProcessBackend) -> None:
        self._store = store
        self._refs = {t.der: CertificateRef(t.reference) for t in backend.trusted}

    def certs(self, entity_id: str, descriptor: str, use: str = "signing") -> list[tuple[Any, Any]]:
        return [(name, self._ref(cert)) for name, cert in self._store.certs(entity_id, descriptor, use)]

    def _ref(self, cert: Any) -> Any:
        try:
            der = base64.b64decode(cert, validate=False)
        except (binascii.Error, TypeError, ValueError):
            return cert
        return self._refs.get(der, cert)

    def __bool__(self) -> bool:
        return bool(self._store)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def _install_backend(client: Saml2Client, sp: SpIdentity, idp: IdpSettings | None) -> None:
    backend = InProcessBackend(
        trusted_certificates_pem=idp.certificates if idp else (),
        signing_key_pem=sp.key_pem,
        signing_cert_pem=sp.cert_pem,
    )
    client.sec.crypto = backend
    if client.sec.metadata is not None:
        client.sec.metadata = _InProcessCertificates(client.sec.metadata, backend)
    client.sec.my_cert = base64_body(sp.cert_pem)  # goes into the KeyInfo of our signatures
    client.sec.only_use_keys_in_metadata = True


@lru_cache(maxsize=CONFIG_CACHE_SIZE)
def sp_client(sp: SpIdentity, idp: IdpSettings | None = None) -> Saml2Client:
    """The pysaml2 client of one connection (or of the SP alone, for its metadata)."""
    config = SPConfig().load(_config_dict(sp, idp))
    client = Saml2Client(config=config)
    _install_backend(client, sp, idp)
    return client


def backend_of(client: Saml2Client) -> InProcessBackend:
    backend = client.sec.crypto
    if not isinstance(backend, InProcessBackend):  # never let pysaml2's own backends verify anything
        raise RuntimeError("The pysaml2 client is not using the in-process backend.")
    return backend
