"""docs/examples/sso_client.py, the example client of docs/integration.md, works against the local stack.

The browser's part (start, demo IdP, ACS) is done over plain HTTP as in test_walk.py; the example does the
application's part: discovery, then the code redeemed with the client secret, and what to do with errors.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sso_local.cli import WALK_EMAIL, WALK_PASSWORD
from sso_local.template import REPO_ROOT
from tests.support.walk import Ready, form_action, hidden_fields, http, make_ready, set_cookies

pytestmark = pytest.mark.integration


def load_example() -> ModuleType:
    path = REPO_ROOT / "docs" / "examples" / "sso_client.py"
    spec = importlib.util.spec_from_file_location("sso_client_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def ready(stack: Any) -> Ready:
    token = stack.authority.issue("acme", "owner@acme.test", "owner", ["acct-main"])
    return make_ready(stack.url, token, stack.outbox)


def browser_part(sign_in_url: str, url: str) -> str:
    """What the user's browser does between the redirect and the callback; returns the callback's code."""
    start = http("GET", sign_in_url)
    cookies = set_cookies(start)
    sign_in = http("POST", form_action(start.text), form=hidden_fields(start.text))
    answer = http(
        "POST",
        f"{url}/_local/idp/login",
        form={**hidden_fields(sign_in.text), "email": WALK_EMAIL, "password": WALK_PASSWORD},
    )
    acs = http("POST", form_action(answer.text), form=hidden_fields(answer.text), cookies=cookies)
    assert acs.status == 302, acs.text
    return parse_qs(urlsplit(acs.header("location") or "").query)["code"][0]


def test_the_example_client_signs_a_user_in(ready: Ready, stack: Any) -> None:
    example = load_example()
    client = example.SsoClient(ready.url, stack.client_secret)

    found = client.discover(WALK_EMAIL)
    assert found.method == "sso" and found.password_allowed is True and found.notice is None
    code = browser_part(found.redirect_url, ready.url)

    profile = example.handle_callback(client, code)
    assert profile["user"]["email"] == WALK_EMAIL and profile["user"]["accounts"] == ["acct-main"]
    assert profile["connection_id"] == ready.connection_id and profile["return_to"] == "/"

    # Each error the doc names gets the handling it describes.
    assert example.handle_callback(client, code) == "Your sign-in link expired. Please sign in again."
    assert example.handle_callback(client, None) == "Sign-in was not completed. Please start again."
    with pytest.raises(example.SsoError) as raised:
        example.handle_callback(example.SsoClient(ready.url, "not-the-secret"), "whatever")
    assert (raised.value.status, raised.value.code) == (401, "invalid_client")
    with pytest.raises(example.SsoError) as raised:
        client.discover("")
    assert (raised.value.status, raised.value.code) == (400, "invalid_request")
    assert client.discover("bob@elsewhere.example").method == "password"
    with pytest.raises(ValueError):
        example.SsoClient("file:///etc/passwd")
