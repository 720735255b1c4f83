"""The console's Users page over HTTP, through the local stack: edit a member's role and accounts, remove a member
after a confirmation step, the API's refusals in words on the page that caused them, and paging with the API's
opaque cursors."""

from __future__ import annotations

import re

import pytest
import requests

from sso_local.lambda_runtime import load_handler_module
from sso_local.template import REPO_ROOT
from tests.support.console import ConsoleClient, sso_sign_in, strict_page

pytestmark = pytest.mark.integration


def _h1(html: str) -> str:
    found = re.search(r"<h1>(.*?)</h1>", html, re.S)
    return found.group(1).strip() if found else ""


def _alert(html: str) -> str:
    found = re.search(r'role="alert"><strong>That did not work.</strong> (.*?)</div>', html, re.S)
    return found.group(1).strip() if found else ""


def _row(html: str, email: str) -> str:
    found = re.search(rf"<tr><td>{re.escape(email)}</td>(.*?)</tr>", html, re.S)
    return found.group(1) if found else ""


@pytest.fixture
def acme(console: ConsoleClient) -> ConsoleClient:
    console.sign_in("acme", "owner@acme.test", "owner", ["acct-main", "acct-eu"])
    console.add_member("ann@acme.test", "member", ["acct-main"])
    return console


def test_an_owner_edits_a_members_role_and_accounts(acme):
    user_id = acme.member_id("ann@acme.test")
    edit = acme.get(f"/console/users/{user_id}")
    assert edit.status_code == 200 and _h1(edit.text) == "Edit member" and "ann@acme.test" in edit.text
    assert strict_page(edit)
    saved = acme.post(f"/console/users/{user_id}", {"role": "admin", "accounts": "acct-main, acct-eu"})
    assert saved.status_code == 200 and _h1(saved.text) == "Users"
    assert "Saved: ann@acme.test is admin, accounts acct-main, acct-eu." in saved.text
    row = _row(saved.text, "ann@acme.test")
    assert ">admin</td>" in row and "acct-main, acct-eu" in row
    audit = acme.get("/console/audit").text
    assert "user.changed" in audit


def test_an_edit_the_api_refuses_is_shown_on_the_edit_page_and_changes_nothing(acme):
    user_id = acme.member_id("ann@acme.test")
    acme.get(f"/console/users/{user_id}")
    foreign = acme.post(f"/console/users/{user_id}", {"role": "member", "accounts": "acct-other-tenant"})
    assert foreign.status_code == 400 and _h1(foreign.text) == "Edit member"
    assert "account" in _alert(foreign.text).lower()
    unknown_role = acme.post(f"/console/users/{user_id}", {"role": "superuser", "accounts": "acct-main"})
    assert unknown_role.status_code == 400 and "member, admin or owner" in _alert(unknown_role.text)
    row = _row(acme.get("/console/users").text, "ann@acme.test")
    assert ">member</td>" in row and "acct-other-tenant" not in row


def test_an_admin_cannot_edit_or_remove_an_owner_nor_make_one(console, other_console):
    console.sign_in("acme", "owner@acme.test", "owner", ["acct-main"])
    console.add_member("boss@acme.test", "owner", ["acct-main"])
    console.add_member("ann@acme.test", "member", ["acct-main"])
    owner_id, ann_id = console.member_id("boss@acme.test"), console.member_id("ann@acme.test")
    other_console.sign_in("acme", "admin@acme.test", "admin", ["acct-main"])
    users = other_console.get("/console/users").text
    assert "Only an owner can change this member" in _row(users, "boss@acme.test")
    assert f"/console/users/{owner_id}" not in users
    for path in (f"/console/users/{owner_id}", f"/console/users/{owner_id}/remove"):
        page = other_console.get(path)
        assert page.status_code == 403 and "above your own" in _alert(page.text), path
    other_console.get(f"/console/users/{ann_id}")
    promote = other_console.post(f"/console/users/{ann_id}", {"role": "owner", "accounts": "acct-main"})
    assert promote.status_code == 403 and "above your own" in _alert(promote.text)
    other_console.get("/console/users")
    removal = other_console.post(f"/console/users/{owner_id}/remove")
    assert removal.status_code == 403
    assert "boss@acme.test" in console.get("/console/users").text


def test_removing_a_member_asks_first_then_removes_and_audits(acme):
    user_id = acme.member_id("ann@acme.test")
    confirm = acme.get(f"/console/users/{user_id}/remove")
    assert confirm.status_code == 200 and _h1(confirm.text) == "Remove member"
    assert "Remove ann@acme.test?" in confirm.text and "Cancel" in confirm.text and strict_page(confirm)
    assert "ann@acme.test" in acme.get("/console/users").text  # opening the confirmation changes nothing
    acme.get(f"/console/users/{user_id}/remove")
    removed = acme.post(f"/console/users/{user_id}/remove")
    assert removed.status_code == 200 and "Removed: ann@acme.test" in removed.text
    assert _row(removed.text, "ann@acme.test") == ""
    assert "user.removed" in acme.get("/console/audit").text
    gone = acme.get(f"/console/users/{user_id}")
    assert gone.status_code == 404 and _h1(gone.text) == "Users" and "No such user" in _alert(gone.text)


def test_a_remove_without_the_form_token_is_refused_and_removes_nothing(acme):
    user_id = acme.member_id("ann@acme.test")
    acme.get(f"/console/users/{user_id}/remove")
    refused = acme.post(f"/console/users/{user_id}/remove", {"csrf": "tampered"})
    assert refused.status_code == 403 and _h1(refused.text) == "This form has expired"
    edit = acme.post(f"/console/users/{user_id}", {"csrf": "", "role": "admin"})
    assert edit.status_code == 403
    assert ">member</td>" in _row(acme.get("/console/users").text, "ann@acme.test")


def test_a_member_cannot_open_or_change_users(acme, other_console):
    user_id = acme.member_id("ann@acme.test")
    other_console.sign_in("acme", "ann@acme.test", "member", ["acct-main"])
    for path in ("/console/users", f"/console/users/{user_id}", f"/console/users/{user_id}/remove"):
        page = other_console.get(path)
        assert page.status_code == 403 and _h1(page.text) == "Ask your administrator", path
    other_console.get("/console/readonly")
    assert other_console.post(f"/console/users/{user_id}/remove").status_code == 403
    assert other_console.post(f"/console/users/{user_id}", {"role": "owner"}).status_code == 403
    assert "ann@acme.test" in acme.get("/console/users").text


def test_tenant_b_cannot_open_edit_or_remove_tenant_a_members(acme, other_console):
    user_id = acme.member_id("ann@acme.test")
    other_console.sign_in("beta", "owner@beta.test", "owner", ["acct-beta"])
    for path in (f"/console/users/{user_id}", f"/console/users/{user_id}/remove"):
        page = other_console.get(path)
        assert page.status_code == 404 and "ann@acme.test" not in page.text, path
    other_console.get("/console/users")
    assert other_console.post(f"/console/users/{user_id}/remove").status_code == 404
    assert other_console.post(f"/console/users/{user_id}", {"role": "member"}).status_code == 404
    assert "ann@acme.test" not in other_console.get("/console/users").text
    assert ">member</td>" in _row(acme.get("/console/users").text, "ann@acme.test")


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load_handler_module(REPO_ROOT / "functions/console"), "PAGE_SIZE", 2)


def _links(html: str) -> dict[str, str]:
    return {
        text: href.replace("&amp;", "&")
        for href, text in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+ page of \w+)</a>', html)
    }


def test_members_and_pending_invitations_page_with_the_apis_cursors(acme, small_pages):
    for name in ("bob", "cat", "dan"):
        acme.add_member(f"{name}@acme.test", "member", ["acct-main"])
    acme.get("/console/users")
    for name in ("pia", "quinn", "ray"):
        acme.post("/console/users/invite", {"email": f"{name}@acme.test", "role": "member", "accounts": "acct-main"})

    seen_members: list[str] = []
    seen_invitations: list[str] = []
    page = acme.get("/console/users")
    for _ in range(5):
        seen_members += re.findall(r'aria-label="Edit ([^"]+)"', page.text)
        links = _links(page.text)
        if "Next page of members" not in links:
            break
        page = acme.get(links["Next page of members"])
        assert page.status_code == 200 and "First page of members" in _links(page.text)
    assert sorted(seen_members) == ["ann@acme.test", "bob@acme.test", "cat@acme.test", "dan@acme.test"]
    assert len(seen_members) == len(set(seen_members))  # no member twice across pages
    page = acme.get("/console/users")
    for _ in range(5):
        seen_invitations += re.findall(r'aria-label="Revoke invitation to ([^"]+)"', page.text)
        links = _links(page.text)
        if "Next page of invitations" not in links:
            break
        page = acme.get(links["Next page of invitations"])
    assert sorted(seen_invitations) == ["pia@acme.test", "quinn@acme.test", "ray@acme.test"]


def test_a_cursor_edited_by_hand_starts_again_at_the_first_pages(acme, small_pages):
    page = acme.get("/console/users?members=not-a-cursor")
    assert page.status_code == 400 and "no longer valid" in _alert(page.text)
    assert "ann@acme.test" in page.text


def test_the_last_break_glass_owner_cannot_be_removed_or_demoted(console):
    """The API's "last owner" refusal, on the pages that caused it: password login is off for example.com, and
    breakglass@acme.test is the only owner who still signs in with a password."""
    from sso_local.cli import WALK_EMAIL, WALK_PASSWORD
    from tests.console.test_console_http import _verified_connection

    console.sign_in("acme", "owner@acme.test", "owner", ["acct-main"])
    connection_id = _verified_connection(console, "example.com")
    metadata = requests.get(f"{console.stack.url}/_local/idp/metadata", timeout=30).content
    imported = console.request(
        "POST",
        f"/console/connections/{connection_id}/idp",
        data={"csrf": console.csrf()},
        files={"metadata": ("idp.xml", metadata, "text/xml")},
    )
    assert imported.status_code == 200, _alert(imported.text)
    assert console.post(f"/console/connections/{connection_id}/status", {"enabled": "true"}).status_code == 200
    console.add_member(WALK_EMAIL, "member", ["acct-main"])
    assert _h1(sso_sign_in(console.stack, WALK_EMAIL, WALK_PASSWORD).text) == "Signed in"  # SSO proven
    console.add_member("breakglass@acme.test", "owner", ["acct-main"])
    console.get("/console/security")
    off = console.post("/console/security/example.com/password", {"enabled": "false"})
    assert off.status_code == 200 and "switched off" in off.text, _alert(off.text)

    owner_id = console.member_id("breakglass@acme.test")
    console.get(f"/console/users/{owner_id}/remove")
    removal = console.post(f"/console/users/{owner_id}/remove")
    assert removal.status_code == 409 and _h1(removal.text) == "Remove member"
    assert "last owner who signs in with a password" in _alert(removal.text)
    console.get(f"/console/users/{owner_id}")
    demotion = console.post(f"/console/users/{owner_id}", {"role": "admin", "accounts": "acct-main"})
    assert demotion.status_code == 409 and _h1(demotion.text) == "Edit member"
    assert "last owner who signs in with a password" in _alert(demotion.text)
    assert ">owner</td>" in _row(console.get("/console/users").text, "breakglass@acme.test")
