"""Calling the API through the gateway (routes from template.yaml, tokens checked like the JWT authorizer)."""

from __future__ import annotations

import json
from typing import Any

from sso_local.gateway import Gateway, GatewayResponse
from sso_local.tokens import TokenAuthority


class Api:
    def __init__(self, gateway: Gateway, authority: TokenAuthority) -> None:
        self.gateway = gateway
        self.authority = authority

    def token(self, tenant: str, role: str, email: str | None = None, accounts: list[str] | None = None) -> str:
        return self.authority.issue(tenant, email or f"{role}@{tenant}.example", role, accounts)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        tenant: str | None = None,
        role: str = "owner",
        token: str | None = None,
        headers: dict[str, str] | None = None,
        query: str = "",
        raw_body: bytes | str | None = None,
    ) -> GatewayResponse:
        hdrs = dict(headers or {})
        if token is None and tenant is not None:
            token = self.token(tenant, role)
        if token is not None:
            hdrs["authorization"] = f"Bearer {token}"
        payload: bytes | str | None = raw_body
        if body is not None:
            payload = json.dumps(body)
            hdrs.setdefault("content-type", "application/json")
        return self.gateway.handle(method, path, query=query, headers=hdrs, body=payload)


def error_code(resp: Any) -> str:
    """The ``error.code`` of an error response's JSON body."""
    return str(resp.json()["error"]["code"])
