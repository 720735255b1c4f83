import pytest

from sso_core.gateways.txt_lookup import CheckResult, match_records
from sso_core.models.domain_names import email_domain, normalise_domain
from sso_core.models.errors import InvalidDomain


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("example.com", "example.com"),
        ("EXAMPLE.com.", "example.com"),
        ("  Example.COM  ", "example.com"),
        ("mail.example.co.uk", "mail.example.co.uk"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("BÜCHER.de", "xn--bcher-kva.de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("例え.jp", "xn--r8jz45g.jp"),
    ],
)
def test_normalises_to_lower_case_a_label(raw, expected):
    assert normalise_domain(raw) == expected


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("http://example.com", "URL"),
        ("https://example.com", "URL"),
        ("example.com/path", "URL"),
        ("user@example.com", "email"),
        ("192.0.2.1", "IP"),
        ("2001:db8::1", "IP"),
        ("[2001:db8::1]", "IP"),
        ("10.0.0.1.", "IP"),
        ("localhost", "Single-label"),
        ("intranet", "Single-label"),
        ("com", "single-label"),
        ("co.uk", "public suffix"),
        ("github.io", "public suffix"),
        ("gmail.com", "consumer"),
        ("outlook.com", "consumer"),
        ("GMAIL.COM", "consumer"),
        ("a" * 64 + ".com", "63"),
        (".".join(["a" * 60] * 5) + ".com", "253"),
        ("exa mple.com", "spaces"),
        ("-bad.com", "label"),
        ("under_score.com", "valid"),
        ("example..com", "valid"),
    ],
)
def test_refuses_with_a_reason(raw, why):
    with pytest.raises(InvalidDomain) as info:
        normalise_domain(raw)
    assert why.lower() in info.value.message.lower()


def test_refuses_non_strings():
    for value in (None, 42, ["example.com"], {"d": 1}):
        with pytest.raises(InvalidDomain):
            normalise_domain(value)


def test_homograph_is_a_different_domain():
    # Cyrillic small a (U+0430) in place of the Latin letter.
    assert normalise_domain("ex\u0430mple.com") != normalise_domain("example.com")
    assert normalise_domain("ex\u0430mple.com").startswith("xn--")


def test_email_domain():
    assert email_domain("Jane.Doe@Example.COM") == "example.com"
    with pytest.raises(InvalidDomain):
        email_domain("no-at-sign")


def test_txt_matching():
    expected = "sso-domain-verification=abc"
    assert match_records([], expected) is CheckResult.NOT_FOUND
    assert match_records(["v=spf1 -all"], expected) is CheckResult.MISMATCH
    assert match_records(["v=spf1 -all", expected], expected) is CheckResult.VERIFIED
    assert match_records([expected + "x"], expected) is CheckResult.MISMATCH
    assert match_records(["sso-domain-verification=ABC"], expected) is CheckResult.MISMATCH
