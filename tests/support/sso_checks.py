"""What every refused SSO login must look like from outside, and a look at the stored login state.

"Reject" (docs/security.md): no code issued, no session, the generic "SSO auth failed" page with a reference, and the
specific reason in the connection's login trace under that reference.
"""

from __future__ import annotations

import base64
from typing import Any

from lxml import etree

from sso_core.config import get_settings
from sso_core.dal.table import deserialize, dynamodb_client
from sso_local.gateway import GatewayResponse
from tests.support.sso_world import LoginStart, SsoWorld, reference_of


def b64(message: str | bytes | etree._Element) -> str:
    if isinstance(message, etree._Element):
        message = etree.tostring(message)
    data = message.encode("utf-8") if isinstance(message, str) else message
    return base64.b64encode(data).decode("ascii")


def post(world: SsoWorld, message: str | bytes | etree._Element, started: LoginStart) -> GatewayResponse:
    """POST a (tampered) response to the ACS from the browser that started ``started``."""
    return world.post_acs(b64(message), started.cookies, started.relay_state)


def trace_entry(world: SsoWorld, reference: str) -> dict[str, Any]:
    resp = world.owner("GET", f"/connections/{world.connection_id}/logins", query=f"reference={reference}")
    assert resp.status == 200, resp.text
    found = resp.json()["logins"]
    assert len(found) == 1, (reference, found)
    return dict(found[0])


def refused(world: SsoWorld, resp: GatewayResponse, reason: str, status: int = 400) -> dict[str, Any]:
    """Assert the ACS refused with ``reason``: the page, its reference, no code, the trace. Returns the entry."""
    assert resp.status == status, (resp.status, resp.text[:300])
    assert (resp.header("content-type") or "").startswith("text/html")
    assert "SSO auth failed" in resp.text
    assert "Traceback" not in resp.text and 'File "' not in resp.text
    assert resp.header("location") is None
    assert not [c for c in resp.header_all("set-cookie") if "Max-Age=0" not in c]  # nothing set, no session
    reference = reference_of(resp)
    entry = trace_entry(world, reference)
    assert (entry["result"], entry["reason"]) == (reason, reason), entry
    newest = world.trace()
    assert newest[0]["reference"] == reference  # newest first
    assert codes_issued() <= sum(e["result"] == "success" for e in newest)  # this refusal issued none
    return entry


def stored_items(item_type: str) -> list[dict[str, Any]]:
    """Every item of ``item_type`` in the table the functions use (in-process moto or the moto server)."""
    client = dynamodb_client()
    params: dict[str, Any] = {
        "TableName": get_settings().table_name,
        "FilterExpression": "#t = :t",
        "ExpressionAttributeNames": {"#t": "type"},
        "ExpressionAttributeValues": {":t": {"S": item_type}},
        "ConsistentRead": True,
    }
    found: list[dict[str, Any]] = []
    while True:
        resp = client.scan(**params)
        found.extend(deserialize(i) for i in resp.get("Items", []))
        if not resp.get("LastEvaluatedKey"):
            return found
        params["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def codes_issued() -> int:
    return len(stored_items("login_code"))
