"""The cookies this service sets: the login's browser binding (``logic.login_start.BindingCookie``), and for a
connection test the test mark (the test request's id, ``logic.login_start.TEST_MARK_COOKIE``).

Secure, HttpOnly, SameSite=None (the IdP's POST to the ACS is cross-site), scoped to the connection's ACS path and
short-lived; the ACS expires them once used.
"""

from __future__ import annotations

from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from sso_core.logic.login_start import TEST_MARK_COOKIE, BindingCookie


def binding_cookie(binding: BindingCookie) -> Cookie:
    return Cookie(
        name=binding.name,
        value=binding.value,
        path=binding.path,
        secure=True,
        http_only=True,
        max_age=binding.max_age,
        same_site=SameSite.NONE_MODE,
    )


def expired_binding_cookie(binding: BindingCookie) -> Cookie:
    return binding_cookie(BindingCookie(binding.name, "", binding.path, 0))


def expired_test_mark(acs_path: str) -> Cookie:
    """The test mark's expiry, on the path it was set on (the ACS's, under the public URL's base path)."""
    return binding_cookie(BindingCookie(TEST_MARK_COOKIE, "", acs_path, 0))
