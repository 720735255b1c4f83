"""Fixtures of the end-to-end tests: the local stack (as `make run` starts it, or in process), headless Chromium.

Chromium is Debian's `chromium` package driven by Playwright through ``executable_path``: never a browser
download. Without it the browser tests skip, except in CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sso_local.dns_server import free_port
from sso_local.stack import LocalStack
from tests.support.browser import CHROMIUM_FLAGS, chromium_path
from tests.support.child_env import child_env
from tests.support.running_stack import RunningStack
from tests.support.walk import WALK_END


@pytest.fixture
def sso_local_run(tmp_path: Path) -> Iterator[RunningStack]:
    """What `make run` starts: `sso-local run`, on a free port, with a fresh state folder."""
    port = free_port()
    log = tmp_path / "sso-local.log"
    env = child_env(
        {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "SSO_LOCAL_STATE": str(tmp_path / "state"),
            "SSO_LOCAL_OUTBOX": str(tmp_path / "outbox"),
            "SSO_LOCAL_DNS_CHECK_SECONDS": "3600",
            "PYTHONUNBUFFERED": "1",
        }
    )
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sso_local.cli", "run", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90
        while WALK_END not in log.read_text(errors="replace"):
            assert proc.poll() is None, f"sso-local run exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"sso-local run did not print its walk:\n{log.read_text()}"
            time.sleep(0.1)
        yield RunningStack(f"http://127.0.0.1:{port}", log.read_text(), tmp_path / "outbox", log)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalStack]:
    """The local stack in this process (after the autouse env fixture, which it overrides)."""
    monkeypatch.delenv("SSO_DNS_NAMESERVERS", raising=False)
    monkeypatch.setenv("SSO_LOCAL_OUTBOX", str(tmp_path / "outbox"))
    with LocalStack(port=0, state_dir=tmp_path / "state", dns_check_interval=0, quiet=True) as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    problem = None if path else "Chromium is not installed: `apt-get install chromium` (.ci/run does it)"
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
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1000, "height": 720}, locale="en-GB")
    context.set_default_timeout(20_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def stack_under_base_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalStack]:
    """The local stack in this process, served under /sso as behind a custom domain's API mapping: its
    SSO_PUBLIC_URL is http://127.0.0.1:<port>/sso."""
    monkeypatch.delenv("SSO_DNS_NAMESERVERS", raising=False)
    monkeypatch.setenv("SSO_LOCAL_OUTBOX", str(tmp_path / "outbox"))
    with LocalStack(port=0, state_dir=tmp_path / "state", dns_check_interval=0, quiet=True, base_path="/sso") as s:
        yield s
