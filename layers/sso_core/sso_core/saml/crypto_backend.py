"""XML signatures in process, on the ``xmlsec`` Python binding (libxmlsec1 bundled in its wheel).

``InProcessBackend`` is a pysaml2 ``CryptoBackend``: pysaml2 hands it a whole document, the
name of the element type and the ID it wants checked, and we verify exactly that element,
with the connection's stored certificates only (never a key from ``KeyInfo``), under a
strict algorithm policy. The same checks are exposed as ``verify_element`` so the ACS can
run them itself on its own tree and read identity from the bytes the signature covers.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import islice
from typing import Any

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree
from saml2.sigver import CryptoBackend, SigverError

from sso_core.log_safe import SENTENCE_LIMIT, bounded
from sso_core.models.login_outcomes import Refusal
from sso_core.saml import safe_xml
from sso_core.saml.certificates import CertificateUnreadable, certificate_der
from sso_core.saml.xml_names import (
    C14N_10,
    C14N_11,
    C14N_EXCLUSIVE,
    DIGEST_SHA256,
    DIGEST_SHA384,
    DIGEST_SHA512,
    NS_DS,
    NS_XML,
    SIG_ECDSA_SHA256,
    SIG_ECDSA_SHA384,
    SIG_ECDSA_SHA512,
    SIG_RSA_SHA256,
    SIG_RSA_SHA384,
    SIG_RSA_SHA512,
    TRANSFORM_ENVELOPED,
    qname,
)

DS_SIGNATURE = qname(NS_DS, "Signature")

# The policy. SAML core 5.4 allows only enveloped signatures with one Reference to the parent.
SIGNATURE_METHODS = {
    SIG_RSA_SHA256: xmlsec.constants.TransformRsaSha256,
    SIG_RSA_SHA384: xmlsec.constants.TransformRsaSha384,
    SIG_RSA_SHA512: xmlsec.constants.TransformRsaSha512,
    SIG_ECDSA_SHA256: xmlsec.constants.TransformEcdsaSha256,
    SIG_ECDSA_SHA384: xmlsec.constants.TransformEcdsaSha384,
    SIG_ECDSA_SHA512: xmlsec.constants.TransformEcdsaSha512,
}
DIGEST_METHODS = {
    DIGEST_SHA256: xmlsec.constants.TransformSha256,
    DIGEST_SHA384: xmlsec.constants.TransformSha384,
    DIGEST_SHA512: xmlsec.constants.TransformSha512,
}
# Canonicalisation without comments only: "WithComments" variants are what make comment
# injection in NameID possible in libraries that read a single text node.
CANONICALIZATIONS = {
    C14N_EXCLUSIVE: xmlsec.constants.TransformExclC14N,
    C14N_10: xmlsec.constants.TransformInclC14N,
    C14N_11: xmlsec.constants.TransformInclC14N11,
}
REFERENCE_TRANSFORMS = {TRANSFORM_ENVELOPED: xmlsec.constants.TransformEnveloped, **CANONICALIZATIONS}


class SignatureRejected(SigverError):
    """A signature that must not be accepted. ``reason`` is one of the ACS reason codes.

    Subclasses ``SigverError`` but not ``XmlsecError``: pysaml2 swallows ``XmlsecError`` while
    trying certificates in turn, and we want our reason to reach the caller.
    """

    def __init__(self, reason: str, detail: str, presented: bytes | None = None) -> None:
        detail = bounded(detail, SENTENCE_LIMIT)  # log-safe whatever a caller put in
        super().__init__(detail)
        self.reason = Refusal(reason)  # one vocabulary: an unnamed code fails here
        self.detail = detail
        # ``unknown_certificate``: the DER of the certificate the signature's KeyInfo named, for display only.
        self.presented = presented


def is_weak(algorithm: str) -> bool:
    lowered = algorithm.lower()
    return "hmac" in lowered or lowered.endswith(("sha1", "md5")) or "ripemd" in lowered


def _check_algorithm(algorithm: str | None, allowed: Iterable[str], what: str) -> None:
    if not algorithm:
        raise SignatureRejected("signature_invalid", f"The signature has no {what}.")
    if is_weak(algorithm):
        raise SignatureRejected("weak_algorithm", f"The signature uses a refused {what}: {bounded(algorithm)}.")
    if algorithm not in allowed:
        raise SignatureRejected(
            "unsupported_algorithm", f"The signature uses an unsupported {what}: {bounded(algorithm)}."
        )


def _only_child(parent: etree._Element, local: str) -> etree._Element:
    found = parent.findall(qname(NS_DS, local))
    if len(found) != 1:
        raise SignatureRejected("signature_invalid", f"The signature must have exactly one {local}.")
    return found[0]


def check_signature_shape(signature: etree._Element, element_id: str) -> None:
    """The xmldsig profile of SAML core 5.4, plus our algorithm policy, checked before any crypto."""
    value = signature.find(qname(NS_DS, "SignatureValue"))
    if value is None or not (value.text or "").strip():
        raise SignatureRejected("unsigned", "The signature has an empty SignatureValue.")
    if signature.find(f".//{qname(NS_DS, 'Object')}") is not None:
        raise SignatureRejected("wrapped_signature", "The signature carries a ds:Object.")
    if signature.find(f".//{qname(NS_DS, 'HMACOutputLength')}") is not None:
        raise SignatureRejected("weak_algorithm", "The signature uses HMAC.")
    signed_info = _only_child(signature, "SignedInfo")
    _check_algorithm(
        _only_child(signed_info, "SignatureMethod").get("Algorithm"), SIGNATURE_METHODS, "signature method"
    )
    _check_algorithm(
        _only_child(signed_info, "CanonicalizationMethod").get("Algorithm"),
        CANONICALIZATIONS,
        "canonicalization method",
    )
    references = signed_info.findall(qname(NS_DS, "Reference"))
    if len(references) != 1:
        raise SignatureRejected("wrapped_signature", "The signature must have exactly one Reference.")
    reference = references[0]
    if reference.get("URI") != f"#{element_id}":
        raise SignatureRejected("wrapped_signature", "The signature does not reference the element that holds it.")
    transforms = [t.get("Algorithm") or "" for t in reference.iterfind(f"{qname(NS_DS, 'Transforms')}/*")]
    for algorithm in transforms:
        _check_algorithm(algorithm, REFERENCE_TRANSFORMS, "transform")
    if TRANSFORM_ENVELOPED not in transforms or len(transforms) > 2:
        raise SignatureRejected("signature_invalid", "The signature is not a plain enveloped signature.")
    _check_algorithm(_only_child(reference, "DigestMethod").get("Algorithm"), DIGEST_METHODS, "digest method")


def enveloped_signature(element: etree._Element) -> etree._Element | None:
    """The element's own ds:Signature child (there may be at most one)."""
    found = element.findall(DS_SIGNATURE)
    if len(found) > 1:
        raise SignatureRejected("wrapped_signature", "An element carries more than one signature.")
    return found[0] if found else None


def check_unique_id(element: etree._Element) -> str:
    """The element's ID, which must be the only one of its value in the document.

    ``xml:id`` is refused outright: libxml2 registers it as an ID by itself, so it could
    answer a reference in place of the element we mean.
    """
    element_id = element.get("ID")
    if not element_id:
        raise SignatureRejected("wrapped_signature", "The signed element has no ID.")
    root = element.getroottree()
    if root.xpath("//@*[namespace-uri()=$ns and local-name()='id']", ns=NS_XML):
        raise SignatureRejected("wrapped_signature", "The message uses xml:id.")
    if len(root.xpath("//*[@ID=$id]", id=element_id)) != 1:
        raise SignatureRejected("wrapped_signature", "The ID of the signed element is not unique.")
    return element_id


@dataclass(frozen=True)
class TrustedCertificate:
    der: bytes
    key: xmlsec.Key
    # The name pysaml2 passes back as ``cert_file`` for this certificate (see ``CertificateRef``).
    reference: str = ""

    def __post_init__(self) -> None:
        if not self.reference:
            object.__setattr__(self, "reference", f"{IN_PROCESS_CERTIFICATE}{hashlib.sha256(self.der).hexdigest()}")


# pysaml2 writes every metadata certificate to a temporary file before each signature check
# (about 0.18 ms on this machine, more than the RSA verification) unless the metadata hands it
# something that is not a string and has a ``name``: ``CertificateRef`` is that, and its name
# is resolved by ``InProcessBackend`` in memory. Never a path: nothing is opened for it.
IN_PROCESS_CERTIFICATE = "in-process-certificate:sha256:"


@dataclass(frozen=True)
class CertificateRef:
    name: str


@dataclass(frozen=True)
class VerifiedSignature:
    """One signature this request has already verified: the exact document text, the element
    (``namespace:Local`` and ID, as pysaml2 names it) and the certificate that verified it."""

    document: str
    node_name: str
    node_id: str
    der: bytes


_verified_in_this_request: ContextVar[tuple[VerifiedSignature, ...]] = ContextVar("verified_in_request", default=())


@contextmanager
def already_verified(*records: VerifiedSignature) -> Iterator[None]:
    """Within the block, the backend answers pysaml2's check of exactly one of ``records``
    without verifying again: the same bytes, element and key give the same answer (libxmlsec1
    is deterministic), and recomputing it cost a parse and an RSA verification per login.
    Any other document, element or certificate is verified in full."""
    token = _verified_in_this_request.set(records)
    try:
        yield
    finally:
        _verified_in_this_request.reset(token)


def trusted_certificates(pems: Iterable[str]) -> tuple[TrustedCertificate, ...]:
    """The verification key of each stored certificate: its bare public key. (An xmlsec key
    holding the X.509 data costs about 27 us to copy into every verification context.)"""
    result = []
    for pem in pems:
        der = certificate_der(pem)
        public_key = x509.load_der_x509_certificate(der).public_key()
        spki = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        result.append(TrustedCertificate(der, xmlsec.Key.from_memory(spki, xmlsec.constants.KeyDataFormatPem)))
    return tuple(result)


MAX_KEY_INFO_CERTIFICATES = 4  # a KeyInfo names one, perhaps with its chain; more is read as none


def _key_info_certificates(signature: etree._Element) -> list[bytes]:
    found: list[bytes] = []
    nodes = signature.iterfind(f".//{qname(NS_DS, 'X509Certificate')}")
    for node in islice(nodes, MAX_KEY_INFO_CERTIFICATES):
        try:
            found.append(certificate_der(node.text or ""))
        except CertificateUnreadable:
            continue
    return found


def _verification_context(key: xmlsec.Key) -> xmlsec.SignatureContext:
    context = xmlsec.SignatureContext()
    context.key = key  # with a key set and no keys manager, libxmlsec1 never takes a key from KeyInfo
    for transform in (*CANONICALIZATIONS.values(), *SIGNATURE_METHODS.values()):
        context.enable_signature_transform(transform)
    for transform in (*REFERENCE_TRANSFORMS.values(), *DIGEST_METHODS.values()):
        context.enable_reference_transform(transform)
    return context


def verify_element(element: etree._Element, certificates: Sequence[TrustedCertificate]) -> TrustedCertificate:
    """Verify the enveloped signature of ``element`` with one of ``certificates``, or raise;
    returns the certificate that verified it.

    ``element`` must come from a parsed document (as every message does): lxml's find() does
    not match nodes that libxmlsec1's template functions created in place.
    """
    signature = enveloped_signature(element)
    if signature is None:
        raise SignatureRejected("unsigned", "The element is not signed.")
    element_id = check_unique_id(element)
    check_signature_shape(signature, element_id)
    if not certificates:
        raise SignatureRejected("unknown_certificate", "No IdP certificate is configured.")
    for trusted in certificates:
        context = _verification_context(trusted.key)
        context.register_id(element, "ID")
        try:
            context.verify(signature)
        except xmlsec.Error:  # VerificationError included: try the next stored certificate
            continue
        return trusted
    presented = _key_info_certificates(signature)
    if presented and not any(der == t.der for der in presented for t in certificates):
        raise SignatureRejected(
            "unknown_certificate",
            "The signature does not verify and names a certificate that is not configured.",
            presented=presented[0],
        )
    raise SignatureRejected("signature_invalid", "The signature does not verify with the configured certificate.")


def covered_copy(element: etree._Element) -> etree._Element:
    """What an enveloped signature over ``element`` covers, as a fresh tree.

    The element without its own Signature, exclusive-canonicalised without comments and
    parsed again: identity is read only from this, so nothing outside the signed element,
    and no comment-split text node, can reach it (``a<!---->b`` reads as ``ab``).
    """
    clone = copy.deepcopy(element)
    for signature in clone.findall(DS_SIGNATURE):
        clone.remove(signature)
    canonical = etree.tostring(clone, method="c14n", exclusive=True, with_comments=False)
    return safe_xml.parse_bytes(canonical)


def _split_node_name(node_name: str) -> tuple[str, str]:
    namespace, _, local = node_name.rpartition(":")
    return namespace, local


def _find_by_id(root: etree._Element, node_name: str, node_id: str | None) -> etree._Element:
    namespace, local = _split_node_name(node_name)
    if node_id is None:
        if root.tag != qname(namespace, local):
            raise SignatureRejected("signature_invalid", "The element to sign or verify was not found.")
        return root
    found = root.xpath(
        "//*[local-name()=$local and namespace-uri()=$ns and @ID=$id]", local=local, ns=namespace, id=node_id
    )
    if len(found) != 1:
        raise SignatureRejected("wrapped_signature", "The element to verify is missing or not unique.")
    element: etree._Element = found[0]
    return element


def sign_element(element: etree._Element, key: xmlsec.Key) -> None:
    """Fill in the element's prepared enveloped Signature template (pysaml2's pre_signature_part)."""
    signature = enveloped_signature(element)
    if signature is None:
        raise SignatureRejected("unsigned", "The element has no signature template.")
    element_id = check_unique_id(element)
    signed_info = _only_child(signature, "SignedInfo")
    for reference in signed_info.findall(qname(NS_DS, "Reference")):
        if reference.get("URI") != f"#{element_id}":
            raise SignatureRejected("wrapped_signature", "The template references another element.")
        _check_algorithm(_only_child(reference, "DigestMethod").get("Algorithm"), DIGEST_METHODS, "digest method")
    _check_algorithm(
        _only_child(signed_info, "SignatureMethod").get("Algorithm"), SIGNATURE_METHODS, "signature method"
    )
    context = xmlsec.SignatureContext()
    context.key = key
    context.register_id(element, "ID")
    context.sign(signature)


class InProcessBackend(CryptoBackend):  # type: ignore[misc]
    """pysaml2 signature backend for one connection: its IdP certificates, and our signing key."""

    def __init__(
        self,
        *,
        trusted_certificates_pem: Sequence[str] = (),
        signing_key_pem: str | None = None,
        signing_cert_pem: str | None = None,
    ) -> None:
        super().__init__()
        self._trusted = trusted_certificates(trusted_certificates_pem)
        self._signing_key: xmlsec.Key | None = None
        if signing_key_pem:
            key = xmlsec.Key.from_memory(signing_key_pem.encode("ascii"), xmlsec.constants.KeyDataFormatPem)
            if signing_cert_pem:
                key.load_cert_from_memory(signing_cert_pem.encode("ascii"), xmlsec.constants.KeyDataFormatCertPem)
            self._signing_key = key

    @property
    def version(self) -> str:
        version = getattr(xmlsec, "get_libxmlsec_version", lambda: (0, 0, 0))()
        return ".".join(str(part) for part in version)

    @property
    def trusted(self) -> tuple[TrustedCertificate, ...]:
        return self._trusted

    def validate_signature(
        self, signedtext: Any, cert_file: str, cert_type: str, node_name: str, node_id: str | None
    ) -> bool:
        """pysaml2's call: verify the ``node_name`` element with ID ``node_id`` in ``signedtext``.

        ``cert_file`` is the certificate pysaml2 took from this connection's metadata; it must
        be one we hold, and only that one is tried.
        """
        if cert_type != "pem":
            return False
        if cert_file.startswith(IN_PROCESS_CERTIFICATE):
            chosen = [t for t in self._trusted if t.reference == cert_file]
        else:
            with open(cert_file, encoding="ascii") as handle:
                try:
                    der = certificate_der(handle.read())
                except CertificateUnreadable:
                    return False
            chosen = [t for t in self._trusted if t.der == der]
        if not chosen:
            return False
        text = signedtext.decode("utf-8") if isinstance(signedtext, bytes) else str(signedtext)
        if node_id is None:
            raise SignatureRejected("wrapped_signature", "No element ID was given to verify.")
        wanted = (node_name, node_id, chosen[0].der)
        for done in _verified_in_this_request.get():
            if (done.node_name, done.node_id, done.der) == wanted and done.document == text:
                return True
        root = safe_xml.parse(text)
        element = _find_by_id(root, node_name, node_id)
        try:
            verify_element(element, chosen)
        except SignatureRejected as exc:
            if exc.reason in ("signature_invalid", "unknown_certificate"):
                return False
            raise
        return True

    def sign_statement(self, statement: Any, node_name: str, key_file: Any, node_id: str | None) -> str:
        """Sign the ``node_name`` element with ID ``node_id``; ``key_file`` is ignored (key held in memory)."""
        if self._signing_key is None:
            raise SignatureRejected("signature_invalid", "This backend holds no signing key.")
        if isinstance(statement, bytes):
            text = statement.decode("utf-8")
        else:
            text = statement if isinstance(statement, str) else str(statement)
        root = safe_xml.parse(text)
        element = _find_by_id(root, node_name, node_id)
        sign_element(element, self._signing_key)
        return etree.tostring(root, encoding="unicode")

    def encrypt(self, text: Any, recv_key: Any, template: Any, key_type: Any) -> Any:
        raise NotImplementedError("Encryption is not supported.")

    def encrypt_assertion(self, statement: Any, enc_key: Any, template: Any, key_type: Any, node_xpath: Any) -> Any:
        raise NotImplementedError("Encrypted assertions are not supported.")

    def decrypt(self, enctext: Any, key_file: Any) -> Any:
        raise NotImplementedError("Encrypted assertions are not supported.")
