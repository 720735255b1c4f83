"""Importing an IdP: its metadata document, or a certificate and an SSO URL typed in by hand.

Everything here is admin input, refused with a ``DomainError`` (400) and a message a
person can act on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree

from sso_core.models.errors import DomainError
from sso_core.saml import safe_xml
from sso_core.saml.certificates import CertificateUnreadable, load_certificate, pem_of
from sso_core.saml.xml_names import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, NS_DS, NS_MD, NS_SAMLP, qname

MIN_RSA_BITS = 2048
EXPIRY_WARNING = timedelta(days=30)
MAX_METADATA_BYTES = 1024 * 1024
MAX_URL_LENGTH = 2048
MAX_ENTITY_ID_LENGTH = 1024

_MD_ENTITY = qname(NS_MD, "EntityDescriptor")
_MD_ENTITIES = qname(NS_MD, "EntitiesDescriptor")
_MD_IDPSSO = qname(NS_MD, "IDPSSODescriptor")
_MD_KEY_DESCRIPTOR = qname(NS_MD, "KeyDescriptor")
_MD_SSO_SERVICE = qname(NS_MD, "SingleSignOnService")
_DS_CERTIFICATE_PATH = f"{qname(NS_DS, 'KeyInfo')}/{qname(NS_DS, 'X509Data')}/{qname(NS_DS, 'X509Certificate')}"
_CONTROL_OR_SPACE = re.compile(r"[\s\x00-\x1f\x7f]")


class InvalidIdpMetadata(DomainError):
    status = 400
    code = "invalid_idp_metadata"
    default_message = "The IdP metadata could not be used."


class InvalidCertificate(DomainError):
    status = 400
    code = "invalid_certificate"
    default_message = "The certificate could not be used."


class InvalidSsoUrl(DomainError):
    status = 400
    code = "invalid_sso_url"
    default_message = "The sign-in URL could not be used."


@dataclass(frozen=True)
class CheckedCertificate:
    pem: str
    not_after: datetime
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportedIdp:
    entity_id: str
    sso_urls: Mapping[str, str | None] = field(hash=False)  # {"post": url | None, "redirect": url | None}
    certificates: tuple[str, ...]  # PEM, signing use only
    warnings: tuple[str, ...] = ()
    want_authn_requests_signed: bool = False


def validate_certificate(text: str, now: datetime) -> CheckedCertificate:
    """A signing certificate as PEM or base64 DER: parseable, strong key, not expired.

    Expiring within 30 days is accepted with a warning.
    """
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    try:
        certificate = load_certificate(text)
    except CertificateUnreadable as exc:
        raise InvalidCertificate(str(exc)) from None
    try:
        key = certificate.public_key()
    except (ValueError, UnsupportedAlgorithm):  # parsed only now: a certificate can load yet hold no usable key
        raise InvalidCertificate("The certificate's public key could not be read.") from None
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise InvalidCertificate(
                f"The certificate's RSA key has {key.key_size} bits; at least {MIN_RSA_BITS} are required."
            )
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1 | ec.SECP384R1 | ec.SECP521R1):
            raise InvalidCertificate(
                f"The certificate's elliptic curve ({key.curve.name}) is not supported; use P-256 or stronger."
            )
    else:
        raise InvalidCertificate("The certificate's key is neither RSA nor elliptic-curve (P-256 or stronger).")
    not_after = certificate.not_valid_after_utc
    if not_after <= now:
        raise InvalidCertificate(f"The certificate expired on {not_after:%Y-%m-%d}.")
    warnings = []
    if not_after - now <= EXPIRY_WARNING:
        days = (not_after - now).days
        warnings.append(
            f"The certificate expires on {not_after:%Y-%m-%d} (in {days} days); "
            "add the IdP's next certificate before then."
        )
    if certificate.not_valid_before_utc > now:
        warnings.append(f"The certificate is valid only from {certificate.not_valid_before_utc:%Y-%m-%d}.")
    return CheckedCertificate(pem=pem_of(certificate), not_after=not_after, warnings=tuple(warnings))


def validate_sso_url(url: str, allow_http_loopback: bool = False) -> str:
    """The IdP's sign-in URL: https only; plain http only for 127.0.0.1 when allowed (local stack)."""
    url = url.strip()
    if not url or len(url) > MAX_URL_LENGTH or _CONTROL_OR_SPACE.search(url):
        raise InvalidSsoUrl("The sign-in URL is empty, too long or contains spaces.")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise InvalidSsoUrl("The sign-in URL is not a valid URL.") from None
    if not hostname or parts.username is not None or parts.password is not None or parts.fragment:
        raise InvalidSsoUrl("The sign-in URL must have a host and no user name, password or fragment.")
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and allow_http_loopback and hostname == "127.0.0.1":
        return url
    raise InvalidSsoUrl("The sign-in URL must use https.")


def parse_idp_metadata(xml: str, now: datetime, *, allow_http_loopback: bool = False) -> ImportedIdp:
    """An IdP's SAML metadata (such as Entra ID's federation metadata), read for one connection."""
    if len(xml.encode("utf-8")) > MAX_METADATA_BYTES:
        raise InvalidIdpMetadata("The metadata is larger than 1 MiB.")
    try:
        root = safe_xml.parse(xml.lstrip("\ufeff"))
    except safe_xml.UnsafeEncoding:
        raise InvalidIdpMetadata(
            "The metadata must be UTF-8 text (no NUL, no other encoding or byte-order mark)."
        ) from None
    except safe_xml.UnsafeXml as exc:
        if exc.reason == "doctype_forbidden":
            raise InvalidIdpMetadata("The metadata contains a DOCTYPE or ENTITY declaration; remove it.") from None
        raise InvalidIdpMetadata("The metadata is not well-formed XML.") from None

    entity = _the_entity(root)
    entity_id = (entity.get("entityID") or "").strip()
    if not entity_id or len(entity_id) > MAX_ENTITY_ID_LENGTH:
        raise InvalidIdpMetadata("The metadata's EntityDescriptor has no usable entityID.")
    descriptor = _the_idp_descriptor(entity)

    warnings: list[str] = []
    certificates = _signing_certificates(descriptor, now, warnings)
    sso_urls: dict[str, str | None] = {"post": None, "redirect": None}
    for service in descriptor.findall(_MD_SSO_SERVICE):
        binding = {BINDING_HTTP_POST: "post", BINDING_HTTP_REDIRECT: "redirect"}.get(service.get("Binding") or "")
        if binding is None or sso_urls[binding] is not None:
            continue
        sso_urls[binding] = validate_sso_url(service.get("Location") or "", allow_http_loopback)
    if not any(sso_urls.values()):
        raise InvalidIdpMetadata("The metadata has no SingleSignOnService for the HTTP-POST or HTTP-Redirect binding.")
    return ImportedIdp(
        entity_id=entity_id,
        sso_urls=sso_urls,
        certificates=certificates,
        warnings=tuple(warnings),
        want_authn_requests_signed=descriptor.get("WantAuthnRequestsSigned") in ("true", "1"),
    )


def _the_entity(root: etree._Element) -> etree._Element:
    if root.tag == _MD_ENTITY:
        return root
    if root.tag != _MD_ENTITIES:
        raise InvalidIdpMetadata("The document is not SAML metadata (no EntityDescriptor).")
    candidates = [e for e in root.iter(_MD_ENTITY) if e.find(_MD_IDPSSO) is not None]
    if len(candidates) != 1:
        raise InvalidIdpMetadata(
            f"The metadata describes {len(candidates)} identity providers; import the one for this connection."
        )
    return candidates[0]


def _the_idp_descriptor(entity: etree._Element) -> etree._Element:
    descriptors = [
        d for d in entity.findall(_MD_IDPSSO) if NS_SAMLP in (d.get("protocolSupportEnumeration") or "").split()
    ]
    if not descriptors:
        raise InvalidIdpMetadata("The metadata has no SAML 2.0 IDPSSODescriptor.")
    if len(descriptors) > 1:
        raise InvalidIdpMetadata("The metadata has several SAML 2.0 IDPSSODescriptors.")
    return descriptors[0]


def _signing_certificates(descriptor: etree._Element, now: datetime, warnings: list[str]) -> tuple[str, ...]:
    found: list[str] = []
    refusals: list[InvalidCertificate] = []
    for key_descriptor in descriptor.findall(_MD_KEY_DESCRIPTOR):
        if key_descriptor.get("use") not in (None, "signing"):
            continue
        for node in key_descriptor.iterfind(_DS_CERTIFICATE_PATH):
            try:
                checked = validate_certificate(node.text or "", now)
            except InvalidCertificate as exc:
                refusals.append(exc)
                continue
            if checked.pem not in found:
                found.append(checked.pem)
                warnings.extend(checked.warnings)
    if not found:
        if refusals:
            raise InvalidCertificate(f"No usable signing certificate in the metadata: {refusals[0].message}")
        raise InvalidIdpMetadata("The metadata has no signing certificate.")
    warnings.extend(f"A signing certificate was skipped: {exc.message}" for exc in refusals)
    return tuple(found)
