"""`make run`'s walk names support's grant before the first connection, and ends on the application's sign-in page."""

from __future__ import annotations

import re
from pathlib import Path

from sso_local.cli import WALK_EMAIL, _walk
from tests.support.walk import walk_script


def test_walk_grants_access_before_the_connection_and_points_at_the_app_page() -> None:
    printed = _walk("http://127.0.0.1:3000", "header.claims.signature", "secret", Path("/tmp/outbox"))
    script = walk_script(printed)
    grant = script.index("$SSO/_local/access")
    assert grant < script.index("$SSO/connections -H")
    assert '"action": "grant", "tenant_id": "acme"' in script
    assert "sso-local access --tenant acme --grant" in printed
    # The application's sign-in page, in the header and in the sign-in step, with the user to type there.
    assert "the application's sign-in page: http://127.0.0.1:3000/_local/app/" in printed
    step = printed[printed.index("# 10.") :]
    assert re.search(r"open http://127\.0\.0\.1:3000/_local/app/ in your browser", step)
    assert WALK_EMAIL in step and '"Continue"' in step
