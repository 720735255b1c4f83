"""A tenant's admin calling the API with its own token, and accepting an invitation by its token."""

from __future__ import annotations

from typing import Any

from tests.support.api import Api


class Admin:
    """One tenant's admin calling the API, with helpers for the common steps."""

    def __init__(self, api: Api, tenant: str, role: str = "admin", accounts: list[str] | None = None, **claims: Any):
        self.api = api
        self.tenant = tenant
        self.role = role
        self.email = f"{role}@{tenant}.example"
        self.token = api.authority.issue(
            tenant, self.email, role, accounts if accounts is not None else ["acct-1", "acct-2"], **claims
        )

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.api.call(method, path, body, token=self.token, **kwargs)

    def invite(self, email: str, role: str = "member", accounts: list[str] | None = None, **kwargs: Any) -> Any:
        return self.call("POST", "/invitations", {"email": email, "role": role, "accounts": accounts or []}, **kwargs)


def accept(api: Api, token: str) -> Any:
    return api.call("POST", "/invitations/accept", {"token": token})
