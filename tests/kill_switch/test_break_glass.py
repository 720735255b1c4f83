"""Who counts as a break-glass owner for a domain (sso_core.logic.break_glass), row by row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sso_core.logic.break_glass import break_glass_owners
from sso_core.models.users import Membership


def member(email: str, role: str = "owner", status: str = "active", user_id: str = "") -> Membership:
    return Membership(
        user_id=user_id or f"usr_{email}",
        tenant_id="acme",
        email=email,
        role=role,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


ROWS = [
    pytest.param(member("boss@acme.example"), set(), None, True, id="owner outside the domain"),
    pytest.param(member("ceo@acme.test"), set(), None, False, id="owner inside the domain"),
    pytest.param(member("ceo@sub.acme.test"), set(), None, True, id="owner in a subdomain (its own domain)"),
    pytest.param(member("boss@acme.example", role="admin"), set(), None, False, id="admin outside"),
    pytest.param(member("boss@acme.example", role="member"), set(), None, False, id="member outside"),
    pytest.param(member("boss@acme.example", status="removed"), set(), None, False, id="removed owner"),
    pytest.param(member("carol@beta.test"), {"beta.test"}, None, False, id="owner whose own domain is off"),
    pytest.param(member("carol@beta.test"), {"gamma.test"}, None, True, id="another domain is off"),
    pytest.param(member("boss@acme.example", user_id="usr_x"), set(), "usr_x", False, id="the owner being removed"),
]


@pytest.mark.parametrize(("candidate", "password_off", "excluding", "counts"), ROWS)
def test_break_glass_owner(candidate: Membership, password_off: set[str], excluding: str | None, counts: bool) -> None:
    found = break_glass_owners([candidate], password_off, "acme.test", excluding=excluding)
    assert found == ([candidate] if counts else [])
