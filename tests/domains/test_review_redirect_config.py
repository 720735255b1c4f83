"""Review finding 10: the application redirect URL has no local-only fallback in a deployed stack.

Left empty, the ACS used to send browsers to ``<public url>/_local/app/callback``, which exists only in the local
stack. Now the ACS refuses to start without ``SSO_APP_REDIRECT_URL`` (a clear configuration error at its cold
start, before any login is consumed), and a value that is not an absolute https URL (or http on a loopback host,
for the local stack) is refused when the settings are read.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sso_core.config import ConfigurationError, Settings
from sso_core.dal.table import Table
from sso_core.logic.assertion_consumer import AcsService


def test_no_redirect_url_means_no_local_fallback() -> None:
    settings = Settings(table_name="t", public_url="https://sso.example.com")
    assert "_local" not in settings.redirect_url
    with pytest.raises(ConfigurationError, match="SSO_APP_REDIRECT_URL"):
        AcsService(settings, Table("t", client=object()))


def test_a_configured_redirect_url_is_used() -> None:
    settings = Settings(table_name="t", app_redirect_url="https://app.example.com/sso/callback")
    assert settings.redirect_url == "https://app.example.com/sso/callback"
    AcsService(settings, Table("t", client=object()))  # starts


@pytest.mark.parametrize(
    "bad",
    [
        "http://app.example.com/cb",  # plain http off the loopback
        "app.example.com/cb",
        "javascript:alert(1)",
        "https://app.example.com/cb\n",
        "https:///cb",
        "https://app.example.com/cb#frag",
    ],
)
def test_a_redirect_url_that_is_not_an_https_url_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        Settings(table_name="t", app_redirect_url=bad)


def test_the_local_stack_may_use_http_on_the_loopback() -> None:
    assert Settings(table_name="t", app_redirect_url="http://127.0.0.1:3000/_local/app/callback").redirect_url
