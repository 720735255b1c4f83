"""ACS validation cost, same Entra-shaped response, same run: ours, python3-saml, and the floor.

    python -c "from tests.benchmarks import bench_acs; bench_acs.main()"

- ours: ``sso_core.saml.validate_response`` (own checks + pysaml2 with the in-process backend);
- python3-saml: ``OneLogin_Saml2_Response(settings, b64).is_valid(request_data, request_id)``,
  strict, wanting signed assertions (it also uses the xmlsec binding in process);
- floor: one lxml parse, one exclusive C14N of the assertion, one RSA-2048 PKCS#1 v1.5
  SHA-256 verification with cryptography.
Also the AuthnRequest cost per request, signed, for both bindings.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from sso_core.saml import IdpSettings, SpIdentity, build_authn_request, generate_sp_keypair, validate_response
from sso_core.saml.certificates import base64_body
from sso_core.saml.sp import sp_metadata_xml
from sso_core.saml.xml_names import NS_DS, NS_SAML
from sso_local.saml_idp import RealIdp, b64

SP_ENTITY_ID = "https://sso.example.com/saml/sp"
ACS_URL = "https://sso.example.com/saml/acs"
IDP_ENTITY_ID = "https://sts.windows.net/aaaaaaaa-0000-4000-8000-000000000001/"
IDP_SSO_URL = "https://login.microsoftonline.com/aaaaaaaa-0000-4000-8000-000000000001/saml2"
REQUEST_ID = "_4f6c2a9e0b7d41c3a8e5f1d2c3b4a59687766554"
ROUNDS = 400
WARMUP = 30


def _timings(run: Callable[[], object], rounds: int = ROUNDS) -> list[float]:
    for _ in range(WARMUP):
        run()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
    }


def _python3_saml(sp: SpIdentity, idp_cert: str, message: str) -> Callable[[], object]:
    from onelogin.saml2.response import OneLogin_Saml2_Response
    from onelogin.saml2.settings import OneLogin_Saml2_Settings

    settings = OneLogin_Saml2_Settings(
        {
            "strict": True,
            "sp": {
                "entityId": sp.entity_id,
                "assertionConsumerService": {
                    "url": sp.acs_url,
                    "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
                },
                "NameIDFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
            },
            "idp": {
                "entityId": IDP_ENTITY_ID,
                "singleSignOnService": {
                    "url": IDP_SSO_URL,
                    "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
                },
                "x509cert": base64_body(idp_cert),
            },
            "security": {
                "wantAssertionsSigned": True,
                "wantMessagesSigned": False,
                "rejectDeprecatedAlgorithm": True,
                "wantNameId": True,
            },
        },
        sp_validation_only=True,
    )
    request_data = {"https": "on", "http_host": "sso.example.com", "script_name": "/saml/acs"}

    def run() -> bool:
        response = OneLogin_Saml2_Response(settings, message)
        return bool(response.is_valid(request_data, REQUEST_ID, raise_exceptions=True))

    return run


def _floor(xml: str, idp_cert: str) -> Callable[[], object]:
    root = etree.fromstring(xml.encode())
    signature = root.find(f"{{{NS_SAML}}}Assertion/{{{NS_DS}}}Signature")
    signed_info = etree.tostring(signature.find(f"{{{NS_DS}}}SignedInfo"), method="c14n", exclusive=True)
    signature_value = __import__("base64").b64decode(signature.findtext(f"{{{NS_DS}}}SignatureValue"))
    public_key = x509.load_pem_x509_certificate(idp_cert.encode()).public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    data = xml.encode()

    def run() -> None:
        parsed = etree.fromstring(data)
        assertion = parsed.find(f"{{{NS_SAML}}}Assertion")
        etree.tostring(assertion, method="c14n", exclusive=True)
        public_key.verify(signature_value, signed_info, padding.PKCS1v15(), hashes.SHA256())

    return run


def main() -> dict[str, Any]:
    from tests.support.keys import make_keypair

    now = datetime.now(UTC)
    sp_key, sp_cert = generate_sp_keypair("sso.example.com", now)
    sp = SpIdentity(SP_ENTITY_ID, ACS_URL, "https://sso.example.com/login", sp_key, sp_cert)
    idp_keys = make_keypair("idp", bits=2048)
    idp = RealIdp(IDP_ENTITY_ID, IDP_SSO_URL, idp_keys, sp_metadata_xml(sp))
    xml = idp.response_xml(
        sp_entity_id=SP_ENTITY_ID, acs_url=ACS_URL, in_response_to=REQUEST_ID, name_id="alice@contoso.com"
    )
    message = b64(xml)
    settings = IdpSettings(IDP_ENTITY_ID, IDP_SSO_URL, (idp_keys.cert_pem,), "post", True)

    start = time.perf_counter()
    validate_response(message, sp=sp, idp=settings, now=datetime.now(UTC))
    first_ms = (time.perf_counter() - start) * 1000

    theirs = _python3_saml(sp, idp_keys.cert_pem, message)
    assert theirs() is True  # python3-saml accepts the same response

    def ours() -> object:
        return validate_response(message, sp=sp, idp=settings, now=now)

    from sso_core.saml import response_validation

    second_opinion = response_validation._second_opinion

    def own_checks_only() -> object:
        """The breakdown: our checks with pysaml2's second opinion switched off (never in production)."""
        response_validation._second_opinion = lambda *args, **kwargs: None  # type: ignore[assignment]
        try:
            return validate_response(message, sp=sp, idp=settings, now=now)
        finally:
            response_validation._second_opinion = second_opinion

    # Alternate them round by round, so that machine noise hits them alike.
    runs = {
        "ours": ours,
        "python3_saml": theirs,
        "floor": _floor(xml, idp_keys.cert_pem),
        "own_checks_only": own_checks_only,
    }
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(WARMUP):
        for run in runs.values():
            run()
    for _ in range(ROUNDS):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            samples[name].append((time.perf_counter() - start) * 1000)

    post = IdpSettings(IDP_ENTITY_ID, IDP_SSO_URL, (idp_keys.cert_pem,), "post", True)
    redirect = IdpSettings(IDP_ENTITY_ID, IDP_SSO_URL, (idp_keys.cert_pem,), "redirect", True)
    authn_post = _timings(lambda: build_authn_request(sp, post, "r", now), 200)
    authn_redirect = _timings(lambda: build_authn_request(sp, redirect, "r", now), 200)

    figures: dict[str, Any] = {
        "response_bytes": len(xml.encode()),
        "first_validation_ms": round(first_ms, 3),
        "ours": _summary(samples["ours"]),
        "python3_saml": _summary(samples["python3_saml"]),
        "floor": _summary(samples["floor"]),
        "own_checks_only": _summary(samples["own_checks_only"]),
        "authn_request_post_signed": _summary(authn_post),
        "authn_request_redirect_signed": _summary(authn_redirect),
        "sp_key_bits": 3072,
    }
    ours_median = figures["ours"]["median_ms"]
    figures["ratio_ours_to_python3_saml"] = round(ours_median / figures["python3_saml"]["median_ms"], 2)
    figures["ratio_ours_to_floor"] = round(ours_median / figures["floor"]["median_ms"], 1)

    figures["ratio_own_checks_to_floor"] = round(
        figures["own_checks_only"]["median_ms"] / figures["floor"]["median_ms"], 1
    )

    def verdict(ratio: float, target: float) -> str:
        return f"target <= {target:g}  {'PASS' if ratio <= target else 'MISS'}"

    print(f"ACS validation, one Entra-shaped response ({figures['response_bytes']} bytes), {ROUNDS} rounds each")
    for name in ("ours", "python3_saml", "floor", "own_checks_only"):
        print(f"  {name:<15} median {figures[name]['median_ms']:7.3f} ms   p95 {figures[name]['p95_ms']:7.3f} ms")
    print(
        f"  ratio ours/python3-saml {figures['ratio_ours_to_python3_saml']:5}  "
        + verdict(figures["ratio_ours_to_python3_saml"], 1.0)
    )
    print(
        f"  ratio ours/floor        {figures['ratio_ours_to_floor']:5}  {verdict(figures['ratio_ours_to_floor'], 10)}"
    )
    print(
        f"  breakdown: our own checks alone are {figures['ratio_own_checks_to_floor']}x the floor; the rest is"
        " pysaml2's second opinion (its object model, schema re-serialisation, eager log formatting)"
    )
    print(f"  first validation (builds the connection's pysaml2 config) {figures['first_validation_ms']:.1f} ms")
    print("AuthnRequest, signed with the SP's RSA-3072 key, per request")
    for name in ("authn_request_post_signed", "authn_request_redirect_signed"):
        print(f"  {name:<31} median {figures[name]['median_ms']:7.3f} ms   p95 {figures[name]['p95_ms']:7.3f} ms")
    return figures


if __name__ == "__main__":
    main()
