"""A browser-less console client for the tests: it follows the OIDC sign-in and keeps the session cookie."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

import requests

from sso_local.stack import LocalStack

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


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
