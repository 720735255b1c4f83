"""Schemathesis against the local stack: every documented operation, generated requests valid and invalid,
answers without a 5xx and as the document says (status, content type, body). `make schemathesis-long` runs the
same with SCHEMATHESIS_EXAMPLES cases per operation and mode."""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import pytest

from sso_local import openapi
from sso_local.stack import LocalStack
from tests.support import schemathesis_run

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "0"))


def _ready(stack: LocalStack) -> Callable[[str], dict[str, str]]:
    granted = stack.support_access(json.dumps({"action": "grant", "tenant_id": "acme", "plan": "contract"}).encode())
    assert granted.status == 200, granted.text
    owner = stack.authority.issue("acme", "owner@acme.test", "owner", ["acct-main"])

    def headers_for(path: str) -> dict[str, str]:
        secret = stack.client_secret if path == "/sso/token" else owner
        return {"Authorization": f"Bearer {secret}"}

    return headers_for


def test_every_operation_answers_as_documented(stack):
    outcome = schemathesis_run.run(
        openapi.served(stack.url),
        stack.url,
        _ready(stack),
        positive=EXAMPLES or 3,
        negative=EXAMPLES or 2,
    )
    operations = sum(len(item) for item in openapi.build()["paths"].values())
    assert outcome.cases >= operations * 2, outcome.cases
    assert not outcome.failures, "\n\n".join(f"{k}:\n{v}" for k, v in outcome.failures.items())


def test_a_wrong_document_is_caught(stack):
    """The checks can fail: a 200 body the document says carries a field it never has is reported."""
    document = openapi.served(stack.url)
    document["paths"] = {"/audit": document["paths"]["/audit"]}
    audit_page = document["components"]["schemas"]["AuditPage"]
    audit_page["required"] = [*audit_page.get("required", []), "never_there"]
    outcome = schemathesis_run.run(document, stack.url, _ready(stack), positive=3, negative=0)
    assert list(outcome.failures) == ["GET /audit (positive)"]
    assert "never_there" in outcome.failures["GET /audit (positive)"]
