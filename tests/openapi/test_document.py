"""docs/openapi.json: what the code generates, a valid OpenAPI 3.1 document, and the template's routes exactly."""

from __future__ import annotations

import json
import re

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from sso_local import openapi
from sso_local.template import Route, routes


def test_committed_document_is_what_the_code_generates():
    committed = openapi.DOCUMENT_PATH.read_text(encoding="utf-8")
    generated = openapi.render(openapi.build())
    assert committed == generated, f"docs/openapi.json is stale: run `{openapi.REGENERATE}` and commit it"


def test_check_mode_says_how_to_regenerate(tmp_path, capsys):
    stale = tmp_path / "openapi.json"
    stale.write_text("{}\n")
    assert openapi.main(["--check", "--output", str(stale)]) == 1
    assert "make openapi" in capsys.readouterr().err
    assert openapi.main(["--output", str(stale)]) == 0
    assert openapi.main(["--check", "--output", str(stale)]) == 0


def test_document_is_valid_openapi_3_1():
    document = json.loads(openapi.DOCUMENT_PATH.read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_the_validator_refuses_a_broken_document():
    """The validation above can fail: a response without its required description is refused."""
    document = openapi.build()
    del document["paths"]["/audit"]["get"]["responses"]["200"]["description"]
    with pytest.raises(OpenAPIValidationError):
        validate(document)


def test_every_route_of_the_template_is_documented_and_nothing_else():
    documented = {f"{method.upper()} {path}" for path, item in openapi.build()["paths"].items() for method in item}
    in_template = {f"{r.method} {r.path}" for r in routes()}
    excluded = {k for k in in_template if any(k.split(" ", 1)[1].startswith(p) for p in openapi.EXCLUDED_PREFIXES)}
    assert excluded, "the console and SCIM routes are left out on purpose"
    assert documented == in_template - excluded
    assert set(openapi.OPERATIONS) == documented, "an OPERATIONS entry whose route is gone from template.yaml"


def test_a_new_route_without_its_operation_fails_generation():
    extra = Route("DELETE", "/connections/{connection_id}/logins", "ConnectionsFunction", openapi.REPO_ROOT, False)
    with pytest.raises(openapi.MissingOperation, match=re.escape("DELETE /connections/{connection_id}/logins")):
        openapi.build([*routes(), extra])


def test_security_follows_the_template_authorizer():
    document = openapi.build()
    for r in openapi.documented_routes():
        op = document["paths"][r.path][r.method.lower()]
        if r.public:
            assert "401" not in op["responses"] or r.path == "/sso/token"
            assert op["security"] in ([], [{"clientSecret": []}])
        else:
            assert op["security"] == [{"adminJwt": []}]
            assert "401" in op["responses"]
        assert "4XX" in op["responses"]


def test_request_bodies_are_the_models_the_handlers_parse():
    paths = openapi.build()["paths"]
    body = paths["/domains"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/AddDomainRequest"}
    toggle = paths["/connections/{connection_id}/status"]["put"]["requestBody"]["content"]["application/json"]
    assert toggle["schema"] == {"$ref": "#/components/schemas/Toggle"}
    params = paths["/connections/{connection_id}/logins"]["get"]["parameters"]
    assert [p["name"] for p in params] == ["connection_id", "limit", "cursor", "reference"]
