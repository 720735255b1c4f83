"""Review finding 10: identifiers are checked with full matches (``^...$`` with ``re.match`` accepts "x\\n")."""

from __future__ import annotations

import pytest

from sso_core.dal.connections import plausible_connection_id
from sso_core.logic.invitations import plausible_invitation_id
from sso_core.logic.users import plausible_user_id

CONNECTION = "conn_" + "0123456789abcdef0123"
USER = "usr_" + "0" * 32
INVITATION = "inv_" + "a" * 32


@pytest.mark.parametrize(
    ("check", "valid"),
    [(plausible_connection_id, CONNECTION), (plausible_user_id, USER), (plausible_invitation_id, INVITATION)],
)
def test_ids_with_a_trailing_newline_are_refused(check, valid: str) -> None:
    assert check(valid)
    for bad in (valid + "\n", valid + "\r\n", "\n" + valid, valid + "0", valid[:-1], valid.upper()):
        assert not check(bad), repr(bad)
