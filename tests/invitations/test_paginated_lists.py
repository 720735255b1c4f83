"""GET /domains, /invitations and /users a page at a time, like GET /audit: ``limit`` 1..200 (default 50), an
opaque ``cursor``, ``next_cursor`` until the end; the item arrays keep their names. Through the gateway."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sso_core.config import get_settings
from sso_core.dal.table import MAX_PAGE_READS
from sso_local.dns_server import LocalDnsServer
from tests.support.admins import Admin, accept
from tests.support.mail import sent_mail

pytestmark = pytest.mark.integration

LISTS = {"/domains": "domains", "/invitations": "invitations", "/users": "users"}


def join(inviter: Admin, email: str) -> str:
    assert inviter.invite(email).status == 201
    resp = accept(inviter.api, sent_mail(email)[-1].token)
    assert resp.status == 200
    return str(resp.json()["user_id"])


def walk(caller: Admin, path: str, limit: int, extra: str = "") -> list[list[dict[str, Any]]]:
    """Every page of ``path``, following next_cursor until it is absent."""
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        query = f"limit={limit}{extra}" + (f"&cursor={cursor}" if cursor else "")
        resp = caller.call("GET", path, query=query)
        assert resp.status == 200, resp.body
        body = resp.json()
        pages.append(body[LISTS[path]])
        cursor = body.get("next_cursor")
        if not cursor:
            return pages
        assert len(pages) < 100, "the cursor never ends"


def test_users_page_through_in_email_order(owner: Admin) -> None:
    emails = [f"user{n}@example.com" for n in (4, 1, 3, 0, 2)]
    ids = {email: join(owner, email) for email in emails}
    pages = walk(owner, "/users", limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]  # the owner calls with a token only: 5 members
    assert [u["email"] for page in pages for u in page] == sorted(emails)
    assert {u["email"]: u["id"] for page in pages for u in page} == ids


def test_invitations_page_newest_first(admin: Admin) -> None:
    for n in range(5):
        assert admin.invite(f"new{n}@example.com").status == 201
    pages = walk(admin, "/invitations", limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    seen = [i for page in pages for i in page]
    # Newest first to the second (the service clock's resolution); the id orders invitations of one second.
    assert [(i["created_at"], i["id"]) for i in seen] == sorted(
        ((i["created_at"], i["id"]) for i in seen), reverse=True
    )
    assert sorted(i["email"] for i in seen) == [f"new{n}@example.com" for n in range(5)]


def test_a_status_filter_fills_pages_across_reads(admin: Admin) -> None:
    kept = []
    for n in range(6):
        resp = admin.invite(f"f{n}@example.com")
        assert resp.status == 201
        if n % 2:
            assert admin.call("DELETE", f"/invitations/{resp.json()['id']}").status == 204
        else:
            kept.append(f"f{n}@example.com")
    pages = walk(admin, "/invitations", limit=2, extra="&status=pending")
    assert sorted(i["email"] for page in pages for i in page) == kept
    assert all(i["status"] == "pending" for page in pages for i in page)
    assert len(pages[0]) == 2


def test_a_sparse_filter_stops_after_bounded_reads_and_the_cursor_resumes(admin: Admin) -> None:
    """Many newer non-matching rows: a page gives up after MAX_PAGE_READS reads, short, with a cursor."""
    assert admin.invite("old@example.com").status == 201
    time.sleep(1.05)  # the service clock counts seconds: every later invitation sorts before this one
    for n in range(2 * MAX_PAGE_READS + 1):  # each read asks for 2 rows (limit 1, and one more)
        resp = admin.invite(f"gone{n}@example.com")
        assert admin.call("DELETE", f"/invitations/{resp.json()['id']}").status == 204
    first = admin.call("GET", "/invitations", query="limit=1&status=pending").json()
    assert first["invitations"] == [] and first["next_cursor"]
    pages = walk(admin, "/invitations", limit=1, extra="&status=pending")
    assert [i["email"] for page in pages for i in page] == ["old@example.com"]


def test_domains_page_in_domain_order(owner: Admin, dns: LocalDnsServer) -> None:
    names = ["c.example", "a.example", "e.example", "b.example", "d.example"]
    for name in names:
        assert owner.call("POST", "/domains", {"domain": name}).status == 201
    pages = walk(owner, "/domains", limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [d["domain"] for page in pages for d in page] == sorted(names)


def test_a_deleted_domain_is_not_listed_and_paging_goes_on(owner: Admin, dns: LocalDnsServer) -> None:
    for name in ["a.example", "b.example", "c.example"]:
        assert owner.call("POST", "/domains", {"domain": name}).status == 201
    first = owner.call("GET", "/domains", query="limit=1").json()
    assert [d["domain"] for d in first["domains"]] == ["a.example"]
    assert owner.call("DELETE", "/domains/b.example").status == 204
    rest = owner.call("GET", "/domains", query=f"limit=5&cursor={first['next_cursor']}").json()
    assert rest == {"domains": [rest["domains"][0]]} and rest["domains"][0]["domain"] == "c.example"


def test_default_page_is_50_and_the_last_page_has_no_cursor(admin: Admin, monkeypatch: pytest.MonkeyPatch) -> None:
    # 51 invitations from one admin in a day: above the default per-inviter mail limit (50), which this is not about.
    monkeypatch.setenv("SSO_INVITE_DAILY_LIMIT_INVITER", "100")
    get_settings.cache_clear()
    for n in range(51):
        assert admin.invite(f"bulk{n:02d}@example.com").status == 201
    first = admin.call("GET", "/invitations").json()
    assert len(first["invitations"]) == 50 and first["next_cursor"]
    second = admin.call("GET", "/invitations", query=f"cursor={first['next_cursor']}").json()
    assert len(second["invitations"]) == 1 and second.get("next_cursor") is None
    seen = [i["email"] for i in first["invitations"] + second["invitations"]]
    assert sorted(seen) == [f"bulk{n:02d}@example.com" for n in range(51)]


def test_a_list_that_fills_its_last_page_exactly_has_no_cursor(admin: Admin, owner: Admin) -> None:
    """Each read asks for one row more than the page needs, so an exactly full last page says it is the last."""
    for n in range(2):
        assert admin.invite(f"pair{n}@example.com").status == 201
    for path in ("/invitations", "/users"):
        pages = walk(owner, path, limit=2)
        assert len(pages) == 1 and len(pages[0]) == (2 if path == "/invitations" else 0)
    join(admin, "j1@example.com")
    join(admin, "j2@example.com")
    assert [len(p) for p in walk(owner, "/users", limit=2)] == [2]


def test_the_200_limit_is_accepted(owner: Admin) -> None:
    for path in LISTS:
        assert owner.call("GET", path, query="limit=200").status == 200


@pytest.mark.parametrize("path", list(LISTS))
@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=201", "limit=-1", "limit=ten", "limit=", "cursor=%21%21%21", "cursor=Zm9v", "cursor=%C3%A9"],
)
def test_bad_limit_or_cursor_is_400(owner: Admin, path: str, query: str) -> None:
    resp = owner.call("GET", path, query=query)
    assert resp.status == 400
    assert resp.json()["error"]["code"] == "invalid_request"


def test_a_cursor_of_another_list_is_400(owner: Admin, dns: LocalDnsServer) -> None:
    join(owner, "u1@example.com")
    join(owner, "u2@example.com")
    users_cursor = owner.call("GET", "/users", query="limit=1").json()["next_cursor"]
    assert users_cursor
    for path in ("/domains", "/invitations"):
        resp = owner.call("GET", path, query=f"cursor={users_cursor}")
        assert (resp.status, resp.json()["error"]["code"]) == (400, "invalid_request")


def test_a_cursor_never_crosses_tenants(make_admin: Any) -> None:
    acme, globex = make_admin("acme"), make_admin("globex")
    for n in range(3):
        assert acme.invite(f"a{n}@example.com").status == 201
    assert globex.invite("g@example.com").status == 201
    acme_cursor = acme.call("GET", "/invitations", query="limit=1").json()["next_cursor"]
    resp = globex.call("GET", "/invitations", query=f"cursor={acme_cursor}")
    assert resp.status == 200
    assert {i["email"] for i in resp.json()["invitations"]} <= {"g@example.com"}


def test_the_last_page_has_the_shape_lists_had_before_pagination(owner: Admin, dns: LocalDnsServer) -> None:
    """No ``next_cursor`` key at all on a last page: a client that never pages sees the same body as before."""
    assert owner.call("POST", "/domains", {"domain": "solo.example"}).status == 201
    for path, name in LISTS.items():
        body = owner.call("GET", path).json()
        assert set(body) == {name}
