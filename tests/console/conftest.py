"""The admin console over HTTP: the local stack in this process, its OIDC issuer, and a cookie-keeping client.

The client keeps the ``__Host-console`` cookie by hand: it is ``Secure`` and the stack is http://127.0.0.1, which a
browser treats as trustworthy but ``requests`` does not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from sso_local.stack import LocalStack

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def console_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalStack]:
    monkeypatch.delenv("SSO_DNS_NAMESERVERS", raising=False)
    monkeypatch.setenv("SSO_LOCAL_OUTBOX", str(tmp_path / "outbox"))
    with LocalStack(port=0, state_dir=tmp_path / "state", dns_check_interval=0, quiet=True) as running:
        yield running


class ConsoleClient:
    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.http = requests.Session()
        self.cookies: dict[str, str] = {}
        self.last: requests.Response | None = None

    def _remember(self, resp: requests.Response) -> None:
        for name, value in re.findall(r"(__Host-console[\w-]*)=([^;,]*)", resp.headers.get("set-cookie", "")):
            if value:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)

    @property
    def session(self) -> str | None:
        return self.cookies.get("__Host-console")

    @session.setter
    def session(self, value: str | None) -> None:
        if value is None:
            self.cookies.pop("__Host-console", None)
        else:
            self.cookies["__Host-console"] = value

    def request(self, method: str, url: str, follow: bool = True, **kwargs: Any) -> requests.Response:
        url = urljoin(self.stack.url + "/", url)
        while True:
            headers = dict(kwargs.pop("headers", None) or {})
            if self.cookies and url.startswith(self.stack.url):
                headers["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            resp = self.http.request(method, url, headers=headers, allow_redirects=False, timeout=30, **kwargs)
            self._remember(resp)
            self.last = resp
            if not follow or resp.status_code not in (301, 302, 303, 307) or "location" not in resp.headers:
                return resp
            url, method, kwargs = urljoin(url, resp.headers["location"]), "GET", {}

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, data: dict[str, Any] | None = None, csrf: bool = True, **kwargs: Any) -> requests.Response:
        data = dict(data or {})
        if csrf and "csrf" not in data:
            data["csrf"] = self.csrf()
        return self.request("POST", url, data=data, **kwargs)

    def csrf(self) -> str:
        assert self.last is not None, "open a page first"
        found = CSRF.search(self.last.text)
        assert found, "the page has no form token"
        return found.group(1)

    def sign_in(self, tenant: str, email: str, role: str, accounts: list[str] | None = None) -> requests.Response:
        return self.get(self.stack.console_link(tenant, email, role, accounts or []))


@pytest.fixture
def console(console_stack: LocalStack) -> ConsoleClient:
    return ConsoleClient(console_stack)


@pytest.fixture
def other_console(console_stack: LocalStack) -> ConsoleClient:
    return ConsoleClient(console_stack)


@pytest.fixture
def browser_context(console_stack: LocalStack) -> Iterator[Any]:
    """Headless Debian Chromium through Playwright (``executable_path``), one fresh context per test."""
    import os

    from tests.e2e.conftest import CHROMIUM_FLAGS, chromium_path

    path = chromium_path()
    problem = None if path else "Chromium is not installed: `apt-get install chromium`"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "Playwright is not installed: `pip install -e '.[dev]'`"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"{problem}. CI must run the browser tests.")
        pytest.skip(problem)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()
