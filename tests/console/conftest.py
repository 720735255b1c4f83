"""The admin console over HTTP: the local stack in this process, its OIDC issuer, and a cookie-keeping client.

The client keeps the ``__Host-console`` cookie by hand: it is ``Secure`` and the stack is http://127.0.0.1, which a
browser treats as trustworthy but ``requests`` does not.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sso_local.stack import LocalStack
from tests.support.console import ConsoleClient


@pytest.fixture
def console_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalStack]:
    monkeypatch.delenv("SSO_DNS_NAMESERVERS", raising=False)
    monkeypatch.setenv("SSO_LOCAL_OUTBOX", str(tmp_path / "outbox"))
    with LocalStack(port=0, state_dir=tmp_path / "state", dns_check_interval=0, quiet=True) as running:
        # Support grants Enterprise SSO to the tenants these tests configure (issue 16), as an operator would.
        for tenant in ("acme", "beta", "state-1"):
            granted = requests.post(
                f"{running.url}/_local/access",
                json={"action": "grant", "tenant_id": tenant, "plan": "contract", "operator": "tests"},
                timeout=30,
            )
            assert granted.status_code == 200, granted.text
        yield running


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

    from tests.support.browser import CHROMIUM_FLAGS, chromium_path

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
