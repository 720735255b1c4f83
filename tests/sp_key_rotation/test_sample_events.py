"""The rotation function's sample events (`sam local invoke SpKeyRotationFunction -e ...`) drive it as Lambda
would, and the function starts without the SAML library (it only makes and reads certificates)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sso_core.dal.table import Table
from sso_local.lambda_runtime import invoke
from sso_local.template import REPO_ROOT, functions

pytestmark = pytest.mark.integration


def run(name: str) -> dict:
    return dict(invoke(functions()["SpKeyRotationFunction"], json.loads((REPO_ROOT / "events" / name).read_text())))


def test_stage_switch_retire_events(keyed: Table) -> None:
    staged = run("sp_key_rotation_stage.json")
    assert staged["status"] == 200 and staged["sp_key"]["next"] is not None, staged
    assert run("sp_key_rotation_stage.json")["sp_key"]["message"].startswith("Already done")  # a retry
    switched = run("sp_key_rotation_switch.json")
    assert switched["status"] == 200 and switched["sp_key"]["previous"] is not None, switched
    retired = run("sp_key_rotation_retire.json")
    assert retired["status"] == 200 and retired["sp_key"]["previous"] is None, retired


def test_the_rotation_function_never_imports_pysaml2() -> None:
    code = (
        "import sys; from pathlib import Path; from sso_local.lambda_runtime import load_handler_module;"
        "load_handler_module(Path('functions/sp_key_rotation'));"
        "from sso_core.logic import sp_key_rotation; print('saml2' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
