"""A certificate that parses as X.509 but whose public key does not (cryptography reads the key only when asked)
used to escape IdP import as a ValueError, a 500 at the API. Found by `make fuzz` (atheris, idp_metadata)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from sso_core.saml import parse_idp_metadata, validate_certificate
from sso_core.saml.idp_import import InvalidCertificate
from sso_local.saml_idp import RealIdp
from tests.support.keys import make_keypair


def key_unreadable(cert_pem: str) -> str:
    """The same certificate with the RSA key's inner SEQUENCE claiming more bytes than there are."""
    certificate = x509.load_pem_x509_certificate(cert_pem.encode())
    der = certificate.public_bytes(Encoding.DER)
    modulus = certificate.public_key().public_numbers().n  # type: ignore[union-attr]
    at = der.index(modulus.to_bytes((modulus.bit_length() + 8) // 8, "big"))  # with its leading zero byte
    header = der.rfind(b"\x30\x82", 0, at)  # the RSAPublicKey SEQUENCE, just before the modulus INTEGER
    broken = der[: header + 2] + b"\x7f\xff" + der[header + 4 :]
    loaded = x509.load_der_x509_certificate(broken)  # still loads...
    with pytest.raises(ValueError):
        loaded.public_key()  # ...but its key does not
    return base64.b64encode(broken).decode()


def test_a_certificate_whose_key_cannot_be_read_is_refused() -> None:
    keys = make_keypair("idp")
    with pytest.raises(InvalidCertificate, match="public key could not be read"):
        validate_certificate(key_unreadable(keys.cert_pem), datetime.now(UTC))


def test_metadata_with_such_a_certificate_is_refused() -> None:
    keys = make_keypair("idp")
    idp = RealIdp("https://idp.example.com/", "https://idp.example.com/sso", keys)
    body = keys.cert_pem.split("-----")[2].replace("\n", "")
    metadata = idp.metadata_xml().replace(body, key_unreadable(keys.cert_pem))
    with pytest.raises(InvalidCertificate):
        parse_idp_metadata(metadata, datetime.now(UTC))
