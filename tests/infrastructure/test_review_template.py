"""Review findings 2, 6, 7 and 10 as the template states them: one test per rule."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sso_local.template import load_template


def _resources() -> dict[str, Any]:
    return dict(load_template()["Resources"])


def _statements(function: str) -> list[dict[str, Any]]:
    policies = _resources()[function]["Properties"].get("Policies") or []
    return [s for p in policies for s in p["Statement"]]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return list(action) if isinstance(action, list) else [action]


# ---- finding 10: AppRedirectUrl ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        ("https://app.example.com/sso/callback", True),
        ("https://app.example.com:8443/cb?x=1", True),
        ("https://app.example.com", True),
        ("", False),
        ("http://app.example.com/cb", False),
        ("https://app.example.com/cb#frag", False),
        ("https://app.example.com/c b", False),
        ("javascript:alert(1)", False),
    ],
)
def test_app_redirect_url_must_be_an_https_url(value: str, allowed: bool) -> None:
    parameter = load_template()["Parameters"]["AppRedirectUrl"]
    assert "Default" not in parameter  # no fallback: the deployment must say where codes go
    pattern = parameter["AllowedPattern"]
    # CloudFormation matches the whole value (Java regex); these patterns mean the same in Python.
    assert bool(re.fullmatch(pattern, value)) is allowed
