"""Running the walk `make run` prints, as a newcomer would: its shell lines, pasted into bash, in order.

``walk_script`` takes the printed text and keeps exactly its command lines (the comments become step markers);
``run_walk`` runs them with bash, curl and python3 and splits the output by step. Plain HTTP helpers for the
tests that talk to the stack themselves come after.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.client import HTTPResponse
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

WALK_START = "Walk the whole flow"
WALK_END = "The scheduled DNS check"
_STEP = re.compile(r"^  # (\d+)\. ")


def walk_script(printed: str) -> str:
    """The walk's command lines, as printed; each numbered comment becomes `echo @@step N@@`."""
    lines = printed.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(WALK_START))
    end = next(i for i, line in enumerate(lines) if line.startswith(WALK_END))
    script = []
    for line in lines[start + 1 : end]:
        step = _STEP.match(line)
        if step:
            script.append(f"echo '@@step {step.group(1)}@@'")
        elif line.startswith("  ") and not line.lstrip().startswith("#"):
            script.append(line)
    return "\n".join(script) + "\n"


@dataclass
class WalkRun:
    steps: dict[int, str]
    stderr: str

    def json(self, step: int) -> Any:
        return json.loads(self.steps[step].strip().splitlines()[-1])

    def last_line(self, step: int) -> str:
        return self.steps[step].strip().splitlines()[-1]


def shell_tools_or_skip() -> None:
    missing = [tool for tool in ("bash", "curl") if shutil.which(tool) is None]
    if missing:
        message = f"the printed walk needs {', '.join(missing)} (.ci/run installs them)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def run_walk(printed: str, cwd: Path) -> WalkRun:
    shell_tools_or_skip()
    # python3 on PATH is this interpreter's (a newcomer's python3 needs nothing but the standard library).
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "/usr/bin:/bin")])
    result = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", walk_script(printed)],
        env={"PATH": path, "HOME": str(cwd), "LC_ALL": "C.UTF-8"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"the walk failed:\n{result.stdout}\n{result.stderr}"
    steps: dict[int, str] = {}
    for chunk in re.split(r"^@@step (\d+)@@\n", result.stdout, flags=re.M)[1:]:
        if chunk.isdigit():
            current = int(chunk)
        else:
            steps[current] = chunk
    return WalkRun(steps, result.stderr)


# ---- plain HTTP ----------------------------------------------------------------------------------------


@dataclass
class Http:
    status: int
    headers: dict[str, list[str]]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def http(
    method: str,
    url: str,
    body: Any = None,
    *,
    token: str | None = None,
    form: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
) -> Http:
    """One request, redirects not followed. ``body`` goes as JSON, ``form`` as a urlencoded form."""
    data = None
    headers = {}
    if body is not None:
        data, headers["content-type"] = json.dumps(body).encode(), "application/json"
    if form is not None:
        data, headers["content-type"] = urlencode(form).encode(), "application/x-www-form-urlencoded"
    if token:
        headers["authorization"] = f"Bearer {token}"
    if cookies:
        headers["cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        response: HTTPResponse = _opener.open(request, timeout=30)
    except urllib.error.HTTPError as err:
        response = err  # type: ignore[assignment]
    with response:
        collected: dict[str, list[str]] = {}
        for name, value in response.headers.items():
            collected.setdefault(name.lower(), []).append(value)
        return Http(response.status, collected, response.read())


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of an HTML form (either quote style)."""
    from html import unescape

    fields = {}
    for tag in re.findall(r"<input[^>]*>", page):
        if "hidden" not in tag:
            continue
        name = re.search(r"name=['\"]([^'\"]+)['\"]", tag)
        value = re.search(r"value=['\"]([^'\"]*)['\"]", tag)
        if name:
            fields[unescape(name.group(1))] = unescape(value.group(1)) if value else ""
    return fields


def form_action(page: str) -> str:
    from html import unescape

    match = re.search(r"<form[^>]*action=['\"]([^'\"]+)['\"]", page)
    assert match, page[:500]
    return unescape(match.group(1))


def set_cookies(resp: Http) -> dict[str, str]:
    found = {}
    for header in resp.headers.get("set-cookie", []):
        name, _, rest = header.partition("=")
        found[name.strip()] = rest.split(";", 1)[0]
    return found


# ---- the walk's API calls, from Python (for tests that need a ready stack, not the walk itself) -------------


@dataclass
class Ready:
    url: str
    token: str
    connection_id: str

    @property
    def sign_in_url(self) -> str:
        return f"{self.url}/saml/{self.connection_id}/login?email=alice%40example.com"

    def trace(self, reference: str) -> dict[str, Any]:
        resp = http("GET", f"{self.url}/connections/{self.connection_id}/logins", token=self.token)
        assert resp.status == 200, resp.text
        entries = [e for e in resp.json()["logins"] if e["reference"] == reference]
        assert len(entries) == 1, resp.text
        return dict(entries[0])


def make_ready(url: str, token: str, outbox: Path, email: str = "alice@example.com") -> Ready:
    """Steps 2-9 of the walk over HTTP: a verified domain, the demo IdP imported, enabled, the user accepted."""
    record = http("POST", f"{url}/domains", {"domain": "example.com"}, token=token).json()["verification"]
    dns = http("POST", f"{url}/_local/dns", {"name": record["record_name"], "value": record["record_value"]})
    assert dns.status == 201, dns.text
    assert http("POST", f"{url}/domains/example.com/verify", token=token).json()["status"] == "verified"
    granted = http("POST", f"{url}/_local/access", {"action": "grant", "tenant_id": "acme", "plan": "contract"})
    assert granted.status == 200, granted.text
    conn = http("POST", f"{url}/connections", {"domains": ["example.com"]}, token=token).json()["id"]
    metadata = http("GET", f"{url}/_local/idp/metadata").text
    assert http("PUT", f"{url}/connections/{conn}/idp", {"metadata_xml": metadata}, token=token).status == 200
    assert http("PUT", f"{url}/connections/{conn}/status", {"enabled": True}, token=token).status == 200
    invitation = {"email": email, "role": "member", "accounts": ["acct-main"]}
    invited = http("POST", f"{url}/invitations", invitation, token=token)
    assert invited.status == 201, invited.text
    link = newest_accept_link(outbox)
    token_value = parse_qs(urlsplit(link).query)["token"][0]
    assert http("POST", f"{url}/invitations/accept", {"token": token_value}).status == 200
    return Ready(url, token, conn)


def newest_accept_link(outbox: Path) -> str:
    from email import message_from_bytes, policy

    newest = max(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime)
    message = message_from_bytes(newest.read_bytes(), policy=policy.default)
    body = message.get_body(("plain",))
    assert body is not None
    match = re.search(r"http\S+token=\S+", body.get_content())
    assert match
    return match.group(0)
