"""The operator function's sample events (`sam local invoke SupportAccessFunction -e ...`) drive it as Lambda would."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sso_local.lambda_runtime import invoke
from sso_local.template import REPO_ROOT, functions

pytestmark = pytest.mark.integration


def run(name: str) -> dict:
    return dict(invoke(functions()["SupportAccessFunction"], json.loads((REPO_ROOT / "events" / name).read_text())))


def test_grant_then_revoke_events(aws: None) -> None:
    granted = run("support_access_grant.json")
    assert granted["status"] == 200
    assert (granted["access"]["access"], granted["access"]["plan"]) == ("granted", "contract")
    assert granted["access"]["granted_by"] == "jane@support.example"
    revoked = run("support_access_revoke.json")
    assert revoked["status"] == 200 and revoked["access"]["access"] == "revoked"
    assert revoked["access"]["revoked_by"] == "jane@support.example"


def test_the_operator_function_never_imports_pysaml2() -> None:
    code = (
        "import sys; from pathlib import Path; from sso_local.lambda_runtime import load_handler_module;"
        "load_handler_module(Path('functions/support_access')); print('saml2' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
