"""X.509 certificates: reading PEM or bare base64 DER, and the SP's self-signed signing pair."""

from __future__ import annotations

import binascii
import re
from base64 import b64decode, b64encode
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

_PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.DOTALL)
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/=]")
_SPACE = re.compile(r"\s+")

SP_KEY_BITS = 3072


class CertificateUnreadable(ValueError):
    pass


# A certificate seen in a message is parsed for display only: at most this many DER bytes, the subject cut short.
MAX_SHOWN_DER_BYTES = 16 * 1024
MAX_SUBJECT_CHARS = 256
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class CertificateFacts:
    """What a person needs to recognise a certificate: never the certificate itself."""

    sha256_fingerprint: str  # upper-case hex with colons, as the API shows it
    subject: str
    not_before: datetime
    not_after: datetime

    def as_dict(self) -> dict[str, str]:
        return {
            "sha256_fingerprint": self.sha256_fingerprint,
            "subject": self.subject,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
        }


def facts_of(certificate: x509.Certificate) -> CertificateFacts:
    subject = certificate.subject.rfc4514_string()
    if len(subject) > MAX_SUBJECT_CHARS:
        subject = subject[: MAX_SUBJECT_CHARS - 3] + "..."
    return CertificateFacts(
        sha256_fingerprint=certificate.fingerprint(hashes.SHA256()).hex(":").upper(),
        subject=subject,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
    )


def shown_certificate(der: bytes) -> CertificateFacts | None:
    """Facts of a certificate someone presented (a signature's KeyInfo), for display only; None when it is too
    large or unreadable. Never a trust decision: nothing verifies with it."""
    if len(der) > MAX_SHOWN_DER_BYTES:
        return None
    try:
        return facts_of(x509.load_der_x509_certificate(der))
    except ValueError:  # malformed DER, or a field the library refuses: shown as nothing
        return None


def fingerprint_key(text: str) -> str | None:
    """A SHA-256 fingerprint as typed (hex, colons optional, any case) in one spelling (lower hex, no colons),
    or None when it is not one."""
    bare = text.replace(":", "").strip().lower()
    return bare if _FINGERPRINT.fullmatch(bare) else None


def certificate_der(text: str) -> bytes:
    """DER bytes of one certificate given as PEM or as bare base64 DER (whitespace allowed)."""
    blocks = _PEM_BLOCK.findall(text)
    if len(blocks) > 1:
        raise CertificateUnreadable("More than one certificate was given; give one at a time.")
    body = blocks[0] if blocks else text
    body = _SPACE.sub("", body)
    if not body or _NOT_BASE64.search(body):
        raise CertificateUnreadable("The certificate is neither PEM nor base64 DER.")
    try:
        return b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CertificateUnreadable("The certificate is not valid base64.") from exc


def load_certificate(text: str) -> x509.Certificate:
    der = certificate_der(text)
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise CertificateUnreadable("The certificate could not be parsed as X.509.") from exc


def pem_of(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def normalised_pem(text: str) -> str:
    """One canonical PEM spelling, so that equal certificates compare equal."""
    return pem_of(load_certificate(text))


def base64_body(pem: str) -> str:
    """The base64 DER on one line, as ds:X509Certificate and pysaml2 want it."""
    return b64encode(certificate_der(pem)).decode("ascii")


def generate_sp_keypair(common_name: str, now: datetime, days: int = 1095) -> tuple[str, str]:
    """A new RSA-3072 key and a self-signed certificate valid from ``now`` for ``days`` days (PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=SP_KEY_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = now - timedelta(minutes=5)  # a little back-dating absorbs IdP clock skew
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return key_pem, pem_of(certificate)
