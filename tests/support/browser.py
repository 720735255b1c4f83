"""Headless Chromium for the browser tests: Debian's ``chromium`` package (never a browser download), its flags,
and screenshots under test-output/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from sso_local.template import REPO_ROOT

SCREENSHOTS = REPO_ROOT / "test-output" / "screenshots"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
