"""A body that is not UTF-8 text reaches the ACS base64-encoded (API Gateway passes a body of a binary content
type that way); decoding it crashed the handler (500). Found by tests/fuzz (test_acs_route)."""

from __future__ import annotations

import pytest

from tests.support.sso_checks import refused
from tests.support.sso_world import SsoWorld


@pytest.mark.parametrize("content_type", ["multipart/form-data; boundary=x", "application/octet-stream"])
@pytest.mark.parametrize("body", [b"\x80", b"SAMLResponse=\xff\xfe", "SAMLResponse=ok".encode("utf-16")])
def test_a_body_that_is_not_utf8_is_refused_as_malformed(ready: SsoWorld, body: bytes, content_type: str) -> None:
    started = ready.start()
    headers = {"content-type": content_type, "cookie": "; ".join(f"{k}={v}" for k, v in started.cookies.items())}
    resp = ready.api.call("POST", f"/saml/{ready.connection_id}/acs", raw_body=body, headers=headers)
    entry = refused(ready, resp, "malformed")
    assert entry["detail"].startswith("the form is not UTF-8 text")
