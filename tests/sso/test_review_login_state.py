"""Security review (issue 13), findings 5 and 8: the login's single-use state, end to end through the gateway.

5. A code issued before SSO was switched off and on again (within the code's 60 s) is not redeemable: the code
   carries the connection's enable period, like the login request.
8. The browser binding is checked before the assertion is burned in the replay cache: a response posted from the
   wrong browser does not use up the assertion, so the real user's own post still signs in.
"""

from __future__ import annotations

import pytest

from tests.support.sso_checks import b64, post, refused
from tests.support.sso_world import SsoWorld, code_of

pytestmark = pytest.mark.integration


def _set_sso(world: SsoWorld, enabled: bool) -> None:
    resp = world.owner("PUT", f"/connections/{world.connection_id}/status", {"enabled": enabled})
    assert resp.status == 200, resp.text


def test_a_code_from_before_a_quick_off_on_is_refused(ready: SsoWorld) -> None:
    code = code_of(ready.login())
    _set_sso(ready, False)
    _set_sso(ready, True)  # well within the code's 60 s
    resp = ready.redeem(code)
    assert (resp.status, resp.json()["error"]["code"]) == (400, "invalid_code")
    # A code issued in the new period is good.
    assert ready.redeem(code_of(ready.login())).status == 200


def test_a_response_from_the_wrong_browser_does_not_burn_the_assertion(ready: SsoWorld) -> None:
    mine, theirs = ready.start(), ready.start()
    (name,) = mine.cookies
    (their_value,) = theirs.cookies.values()
    message = ready.response_xml(mine.request_id)
    # Someone holding the response posts it from another browser (the cookie name is known, its value is not).
    refused(ready, ready.post_acs(b64(message), {name: their_value}), "request_other_browser")
    refused(ready, ready.post_acs(b64(message)), "browser_binding_missing")
    # The real user's browser then posts the same response: it signs in.
    resp = post(ready, message, mine)
    assert resp.status == 302, resp.text[:300]
    assert ready.redeem(code_of(resp)).status == 200
    # And it is still single use.
    refused(ready, post(ready, message, mine), "replayed", 403)
