"""The SCIM and provisioning functions in template.yaml: routes, public-ness, least privilege, and the greedy
``{proxy+}`` route as the local gateway matches it (API Gateway's rule)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sso_local.template import REPO_ROOT, Route, load_template, routes

SCIM_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def _actions(function: str) -> dict[str, set[str]]:
    """Resource (as written) -> actions allowed on it."""
    found: dict[str, set[str]] = {}
    for policy in load_template()["Resources"][function]["Properties"]["Policies"]:
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            found.setdefault(str(statement["Resource"]), set()).update(actions)
    return found


def test_the_scim_service_is_one_public_function_for_every_method_under_scim_v2():
    scim = [r for r in routes() if r.path.startswith("/scim/")]
    assert {r.method for r in scim} == SCIM_METHODS
    assert {(r.path, r.function, r.public) for r in scim} == {("/scim/v2/{proxy+}", "ScimFunction", True)}


def test_the_provisioning_admin_routes_need_the_jwt():
    admin = {(r.method, r.path) for r in routes() if r.function == "ProvisioningFunction"}
    assert admin == {
        ("POST", "/provisioning/scim-token"),
        ("DELETE", "/provisioning/scim-token"),
        ("GET", "/provisioning/settings"),
        ("PUT", "/provisioning/settings"),
        ("GET", "/provisioning/activity"),
    }
    assert not any(r.public for r in routes() if r.function == "ProvisioningFunction")


def test_scim_function_policy_is_the_table_only_with_no_scan_no_index_no_secrets():
    allowed = _actions("ScimFunction")
    assert list(allowed) == ["{'Fn::GetAtt': ['Table', 'Arn']}"]
    assert allowed["{'Fn::GetAtt': ['Table', 'Arn']}"] == {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }


def test_provisioning_function_policy_is_minimal():
    assert _actions("ProvisioningFunction") == {
        "{'Fn::GetAtt': ['Table', 'Arn']}": {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:DeleteItem",
            "dynamodb:Query",
        }
    }


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/scim/v2/Users", {"proxy": "Users"}),
        ("/scim/v2/Users/usr_1", {"proxy": "Users/usr_1"}),
        (
            "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            {"proxy": "Schemas/urn:ietf:params:scim:schemas:core:2.0:User"},
        ),
        ("/scim/v2", None),
        ("/scim/v2/", None),
        ("/scim/v3/Users", None),
    ],
)
def test_a_greedy_route_takes_the_rest_of_the_path(path, expected):
    route = Route("GET", "/scim/v2/{proxy+}", "ScimFunction", REPO_ROOT / "functions/scim", True)
    assert route.match("GET", path) == expected


@pytest.mark.parametrize("function", ["scim", "provisioning"])
def test_provisioning_functions_never_import_pysaml2(function):
    code = (
        "import sys; from pathlib import Path; from sso_local.lambda_runtime import load_handler_module;"
        f"load_handler_module(Path('functions/{function}')); print('saml2' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
