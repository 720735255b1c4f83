"""The local stack serves the document at /openapi.json and lists it at /docs, with the house CSP."""

from __future__ import annotations

import json

import pytest

from sso_local import openapi
from tests.support.walk import http

pytestmark = pytest.mark.integration


def test_openapi_json_is_the_committed_document_with_this_stack_as_server(stack):
    resp = http("GET", f"{stack.url}/openapi.json")
    assert resp.status == 200 and resp.header("content-type").startswith("application/json")
    served = resp.json()
    committed = json.loads(openapi.DOCUMENT_PATH.read_text(encoding="utf-8"))
    assert served["servers"] == [{"url": stack.url}]
    assert {**served, "servers": committed["servers"]} == committed


def test_docs_page_lists_every_operation_without_script_or_other_origins(stack):
    resp = http("GET", f"{stack.url}/docs")
    assert resp.status == 200 and resp.header("content-type").startswith("text/html")
    csp = resp.header("content-security-policy")
    assert csp == openapi.PAGE_CSP and csp.startswith("default-src 'none'") and "http" not in csp
    assert "<script" not in resp.text and "//" not in resp.text.replace(stack.url, "")
    for path, item in openapi.build()["paths"].items():
        for method in item:
            assert f"<td class='m'>{method.upper()}</td><td><code>{path}</code>" in resp.text
    assert http("POST", f"{stack.url}/docs").status == 404
