"""The one cookie this service sets: the login's browser binding (``logic.login_start.BindingCookie``).

Secure, HttpOnly, SameSite=None (the IdP's POST to the ACS is cross-site), scoped to the connection's ACS path and
short-lived; the ACS expires it once used.
"""

from __future__ import annotations

from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from sso_core.logic.login_start import BindingCookie


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
