"""A browser-less console client for the tests: it follows the OIDC sign-in and keeps the session cookie."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from pathlib import Path
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

    def add_member(self, email: str, role: str, accounts: list[str]) -> None:
        """Invite ``email`` from the Users page and accept the mailed invitation, as the invitee would."""
        self.get("/console/users")
        sent = self.post("/console/users/invite", {"email": email, "role": role, "accounts": ",".join(accounts)})
        assert sent.status_code == 200 and f"Invitation sent: {email}" in sent.text, sent.text
        token = accept_token(self.stack.outbox, email)
        accepted = requests.post(f"{self.stack.url}/invitations/accept", data={"token": token}, timeout=30)
        assert accepted.status_code == 200, accepted.text

    def member_id(self, email: str) -> str:
        """The id of ``email`` on the Users page's first page of members (from its Edit link)."""
        page = self.get("/console/users").text
        found = re.search(rf'href="/console/users/(usr_[0-9a-f]+)" aria-label="Edit {re.escape(email)}"', page)
        assert found, f"{email} has no Edit link"
        return found.group(1)


def strict_page(resp: requests.Response) -> bool:
    """The console's headers and no inline script or style: what every console page must be."""
    policy_ok = resp.headers.get("content-security-policy", "").startswith("default-src 'none'; script-src 'self';")
    inline = "<script>" in resp.text or "style=" in resp.text or " on" + "click=" in resp.text
    return policy_ok and resp.headers.get("cache-control") == "no-store" and not inline


def accept_token(outbox: Path, email: str) -> str:
    """The token of the newest invitation mailed to ``email`` in the local outbox."""
    mails = []
    for path in outbox.glob("*.eml"):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if email in str(message["To"]):
            mails.append((path.stat().st_mtime_ns, message))
    assert mails, f"no mail to {email}"
    body = max(mails, key=lambda m: m[0])[1].get_body(("plain",))
    assert body is not None
    found = re.search(r"token=([\w-]+)", body.get_content())
    assert found
    return found.group(1)


def verify_domain(client: ConsoleClient, domain: str) -> None:
    """Connect ``domain`` on the Domains page, publish its TXT record in the stack's DNS, press "Check DNS"."""
    client.get("/console/domains")
    page = client.post("/console/domains", {"domain": domain})
    assert page.status_code == 200, page.text
    name = re.search(r"<code>(_sso-challenge\.[^<]+)</code>", page.text)
    value = re.search(r"<code>(sso-domain-verification=[^<]+)</code>", page.text)
    assert name and value, page.text
    client.stack.dns.store.add(name.group(1), "TXT", value.group(1))
    checked = client.post(f"/console/domains/{domain}/check")
    assert f"{domain}: Verified." in checked.text, checked.text


FORM_ACTION = re.compile(r"<form[^>]*action=['\"]([^'\"]+)['\"]")
HIDDEN = re.compile(r"<input type=['\"]hidden['\"] name=['\"]([^'\"]+)['\"] value=['\"]([^'\"]*)['\"]")


def sso_sign_in(stack: LocalStack, email: str, password: str) -> requests.Response:
    """A user's sign-in without a browser: the application's sign-in page (discovery), the SP's request to the demo
    IdP, its sign-in form, and the response posted to the ACS; cookies kept by hand (they are Secure on http)."""
    from html import unescape

    http = requests.Session()
    cookies: dict[str, str] = {}

    def send(method: str, url: str, data: dict[str, str] | None = None) -> requests.Response:
        url = urljoin(stack.url + "/", url)
        while True:
            header = {"cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
            resp = http.request(method, url, data=data, headers=header, allow_redirects=False, timeout=30)
            for raw in resp.raw.headers.getlist("set-cookie"):
                name, _, rest = raw.partition("=")
                cookies[name.strip()] = rest.split(";", 1)[0]
            if resp.status_code not in (301, 302, 303, 307) or "location" not in resp.headers:
                return resp
            url, method, data = urljoin(url, resp.headers["location"]), "GET", None

    resp = send("POST", "/_local/app/", {"email": email})
    for _ in range(4):  # the SP's auto-posted request, the IdP's sign-in form, its auto-posted response
        action = FORM_ACTION.search(resp.text)
        if action is None:
            return resp
        fields = {unescape(k): unescape(v) for k, v in HIDDEN.findall(resp.text)}
        if "request" in fields:
            fields.update(email=email, password=password)
        resp = send("POST", urljoin(resp.url, unescape(action.group(1))), fields)
    return resp
