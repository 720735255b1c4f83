"""The template and the code agree: routes, handlers, least privilege, log groups, pins, imports."""

import json
import re
import subprocess
import sys
import tomllib

import pytest

from sso_local.http_events import http_event
from sso_local.lambda_runtime import invoke
from sso_local.template import REPO_ROOT, functions, load_template, routes

PUBLIC_ROUTES = {
    ("GET", "/saml/{connection_id}/metadata"),
    ("GET", "/saml/{connection_id}/certificate"),
    ("POST", "/login/discover"),
    ("GET", "/saml/{connection_id}/login"),
    # The connection test's single-use link (its token, made by POST /connections/{id}/test, is the credential)
    ("GET", "/saml/{connection_id}/test"),
    ("POST", "/saml/{connection_id}/acs"),
    ("POST", "/sso/token"),
    ("POST", "/invitations/accept"),
    ("GET", "/invitations/accept"),
    # SCIM: its own bearer token (hashed in the table), not the admin JWT
    ("GET", "/scim/v2/{proxy+}"),
    ("POST", "/scim/v2/{proxy+}"),
    ("PUT", "/scim/v2/{proxy+}"),
    ("PATCH", "/scim/v2/{proxy+}"),
    ("DELETE", "/scim/v2/{proxy+}"),
    # The admin console signs in with OpenID Connect and its own session cookie (tests/console).
    ("GET", "/console/"),
    ("GET", "/console/{proxy+}"),
    ("POST", "/console/{proxy+}"),
}


def test_layer_requirements_match_the_project_pins():
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    pins = sorted(pyproject["project"]["dependencies"])
    layer = sorted(
        line.strip()
        for line in (REPO_ROOT / "layers/sso_core/requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert layer == pins
    assert all("==" in p for p in pins), "runtime dependencies are pinned"


def test_only_the_public_routes_skip_the_authorizer():
    public = {(r.method, r.path) for r in routes() if r.public}
    assert public == PUBLIC_ROUTES


@pytest.mark.parametrize("route", routes(), ids=lambda r: f"{r.method} {r.path}")
def test_every_template_route_reaches_a_handler_route(route, aws):
    params = {p[1:-1]: "x" for p in re.findall(r"\{[^}]+\}", route.path)}
    path = route.path
    for name, value in params.items():
        path = path.replace("{" + name + "}", value)
    claims = None if route.public else {"tenant_id": "t", "email": "o@t.example", "roles": ["owner"]}
    event = http_event(route.method, path, route_path=route.path, path_parameters=params, claims=claims)
    result = invoke(route.code_dir, event)
    body = result.get("body") or ""
    assert "route_not_found" not in body, f"{route.method} {route.path} is not served by {route.code_dir.name}"


def test_every_function_has_a_log_group_with_retention():
    resources = load_template()["Resources"]
    groups = {
        json.dumps(r["Properties"]["LogGroupName"]): r["Properties"].get("RetentionInDays")
        for r in resources.values()
        if r["Type"] == "AWS::Logs::LogGroup" and "LogGroupName" in r["Properties"]
    }
    for name in functions():
        key = json.dumps({"Fn::Sub": f"/aws/lambda/${{{name}}}"})
        assert key in groups, f"{name} has no log group"
        assert groups[key] is not None


def test_policies_name_exact_actions_and_resources():
    resources = load_template()["Resources"]
    for name, res in resources.items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        policies = res["Properties"].get("Policies") or []
        assert policies, f"{name} has no policy"
        for policy in policies:
            assert isinstance(policy, dict) and "Statement" in policy, f"{name}: inline statements only"
            for statement in policy["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert all("*" not in a for a in actions), f"{name}: wildcard action {actions}"
                assert statement["Resource"] != "*", f"{name}: wildcard resource"


@pytest.mark.parametrize(
    "function", ["domains", "dns_check", "invitations", "users", "kill_switch", "audit", "certificate_watch"]
)
def test_functions_without_saml_never_import_pysaml2(function):
    code = (
        "import sys; from pathlib import Path; from sso_local.lambda_runtime import load_handler_module;"
        f"load_handler_module(Path('functions/{function}')); print('saml2' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
