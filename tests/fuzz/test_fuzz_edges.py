"""Fuzzing the whole ACS route (form decoding, cookies, the validator, the trace) through the gateway, and the
domain normaliser. The route must answer every input below 500; the normaliser must return a canonical name or
refuse with InvalidDomain."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import given
from hypothesis import strategies as st

from sso_core.models.domain_names import normalise_domain
from sso_core.models.errors import InvalidDomain
from tests.fuzz.mutations import Seed, form_values
from tests.fuzz.record import run_one
from tests.support.fuzzing import fuzz_settings
from tests.support.sso_world import SsoWorld

_CONTENT_TYPES = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-8",
        "application/x-www-form-urlencoded; charset=utf-16",
        "multipart/form-data; boundary=x",
        "text/plain",
        "application/json",
        "",
    ]
)


@st.composite
def acs_posts(draw: st.DrawFn, world: SsoWorld, seed: Seed, cookies: dict[str, str]) -> tuple[str, dict[str, str], Any]:
    """(path, headers, body): mostly forms carrying a derived SAMLResponse, sometimes junk bodies."""
    path = f"/saml/{world.connection_id}/acs"
    if draw(st.integers(0, 9)) == 0:
        path = f"/saml/{quote(draw(st.text(min_size=1, max_size=40)), safe='')}/acs"
    headers = {"content-type": draw(_CONTENT_TYPES)}
    cookie_kind = draw(st.sampled_from(["genuine", "none", "junk"]))
    if cookie_kind == "genuine":
        headers["cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    elif cookie_kind == "junk":
        headers["cookie"] = "".join(ch for ch in draw(st.text(max_size=200)) if ch.isprintable())
    kind = draw(st.sampled_from(["form", "form", "form", "fields", "bytes", "text"]))
    if kind == "bytes":
        return path, headers, draw(st.binary(max_size=3000))
    if kind == "text":
        return path, headers, draw(st.text(max_size=3000))
    fields: list[tuple[str, str]] = [("SAMLResponse", draw(form_values(seed)))]
    fields.append(("RelayState", draw(st.text(max_size=100))))
    if kind == "fields":
        extra = st.tuples(st.sampled_from(["SAMLResponse", "RelayState", "x", ""]), st.text(max_size=50))
        fields.extend(draw(st.lists(extra, max_size=12)))
        fields = draw(st.permutations(fields))
    return path, headers, urlencode(fields)


@fuzz_settings("acs_route")
@given(data=st.data())
def test_acs_route(ready: SsoWorld, data: st.DataObject) -> None:
    started = getattr(ready, "_fuzz_started", None)
    if started is None:  # one genuine login under way: its request, cookie and a signed response are the seed
        started = ready.start()
        ready._fuzz_started = started  # type: ignore[attr-defined]
        ready._fuzz_seed = Seed(ready.response_xml(started.request_id).encode())  # type: ignore[attr-defined]
    path, headers, body = data.draw(acs_posts(ready, ready._fuzz_seed, started.cookies))  # type: ignore[attr-defined]

    def call() -> str:
        response = ready.api.gateway.handle("POST", path, headers=headers, body=body)
        assert response.status < 500, (response.status, response.text[:300])
        if response.status == 302:
            assert "code=" in (response.header("location") or "")
        elif response.status != 404:  # 404: the gateway found no route for a junk connection id
            assert (response.header("content-type") or "").startswith(("text/html", "application/json"))
        return str(response.status)

    run_one("acs_route", call)


_LABEL = st.text(
    alphabet=st.one_of(
        st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789-_ABCXYZ"),
        st.sampled_from("äöüßéñøççıİ中文рфΣσς\u200b\u200d\u00ad\uff41\u2488\u0301"),
        st.characters(),
    ),
    max_size=70,
)
_SUFFIX = st.sampled_from(["com", "test", "co.uk", "de", "xn--p1ai", "рф", "github.io", "", "com.", "gmail.com"])
DOMAINS = st.one_of(
    st.text(max_size=300),
    st.builds(lambda labels, suffix: ".".join([*labels, suffix]), st.lists(_LABEL, max_size=5), _SUFFIX),
    st.sampled_from(
        [
            "Example.COM.",
            " example.com ",
            "xn--bcher-kva.example",
            "bücher.example",
            "\uff45xample.com",
            "exa\u200bmple.com",
            "a" * 64 + ".com",
            ("a" * 63 + ".") * 4 + "com",
            "1.2.3.4",
            "[::1]",
            "example.com:443",
            "user@example.com",
            "https://example.com/",
            "xn--.com",
            "xn--zz.com",
        ]
    ),
    st.one_of(st.none(), st.integers(), st.binary(max_size=20), st.lists(st.text(max_size=5), max_size=2)),
)
_QUOTED = re.compile(r"'[^']*'")


@fuzz_settings("domain_names")
@given(raw=DOMAINS)
def test_domain_normaliser(raw: object) -> None:
    def call() -> str:
        try:
            name = normalise_domain(raw)
        except InvalidDomain as exc:
            return _QUOTED.sub("'…'", exc.message).split(":")[0]
        assert name.isascii() and name == name.lower() and len(name) <= 253 and not name.endswith(".")
        assert normalise_domain(name) == name  # canonical: normalising again changes nothing
        return "accepted"

    run_one("domain_names", call)
