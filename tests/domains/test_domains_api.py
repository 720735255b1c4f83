"""Domain routes through the gateway: JWT checks, roles, tenants, bad input, and Check DNS against a real DNS server."""

import json

import pytest

from sso_local.tokens import TokenAuthority

pytestmark = pytest.mark.integration


def add(api, domain, tenant="t1"):
    return api.call("POST", "/domains", {"domain": domain}, tenant=tenant)


def publish(dns, body):
    v = body["verification"]
    dns.store.add(v["record_name"], v["record_type"], v["record_value"])


# ---- authentication and roles -------------------------------------------------------------


def test_no_token_is_401(api):
    resp = api.call("POST", "/domains", {"domain": "example.com"})
    assert resp.status == 401


def test_bad_signature_is_401(api, tmp_path):
    forged = TokenAuthority(tmp_path / "other-key").issue("t1", "o@t1.example", "owner")
    assert api.call("GET", "/domains", token=forged).status == 401


def test_wrong_audience_is_401(api, authority, tmp_path):
    other = TokenAuthority(tmp_path / "state", audience="someone-else")  # same key, other audience
    assert api.call("GET", "/domains", token=other.issue("t1", "o@t1.example", "owner")).status == 401


def test_wrong_issuer_is_401(api, tmp_path):
    other = TokenAuthority(tmp_path / "state", issuer="https://evil.example/")
    assert api.call("GET", "/domains", token=other.issue("t1", "o@t1.example", "owner")).status == 401


def test_expired_token_is_401(api, authority):
    token = authority.issue("t1", "o@t1.example", "owner", ttl_seconds=-60)
    assert api.call("GET", "/domains", token=token).status == 401


@pytest.mark.parametrize("role", ["member", "admin"])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/domains", {"domain": "example.com"}),
        ("GET", "/domains", None),
        ("GET", "/domains/example.com", None),
        ("DELETE", "/domains/example.com", None),
        ("POST", "/domains/example.com/verify", None),
    ],
)
def test_non_owners_are_refused(api, role, method, path, body):
    resp = api.call(method, path, body, tenant="t1", role=role)
    assert resp.status == 403
    assert resp.json()["error"]["code"] == "forbidden"


# ---- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw_body",
    ['{"domain": "example.com"', "[1, 2]", '"example.com"', "", "not json"],
)
def test_malformed_body_is_400_invalid_request(api, raw_body):
    resp = api.call("POST", "/domains", tenant="t1", raw_body=raw_body, headers={"content-type": "application/json"})
    assert resp.status == 400
    assert resp.json()["error"]["code"] == "invalid_request"


def test_missing_and_unknown_fields(api):
    missing = api.call("POST", "/domains", {}, tenant="t1")
    assert missing.status == 400
    assert "missing field 'domain'" in missing.json()["error"]["message"]
    unknown = api.call("POST", "/domains", {"domain": "example.com", "owner": "me"}, tenant="t1")
    assert unknown.status == 400
    assert "unknown field 'owner'" in unknown.json()["error"]["message"]
    wrong_type = api.call("POST", "/domains", {"domain": 42}, tenant="t1")
    assert wrong_type.status == 400


@pytest.mark.parametrize(
    "domain",
    [
        "http://example.com",
        "example.com/path",
        "user@example.com",
        "192.0.2.10",
        "localhost",
        "intranet",
        "co.uk",
        "com",
        "gmail.com",
        "outlook.com",
        "a" * 64 + ".com",
        ".".join(["b" * 62] * 4) + ".com",
        "",
    ],
)
def test_invalid_domains_are_refused_and_leave_nothing(api, domain):
    resp = add(api, domain)
    assert resp.status == 400
    body = resp.json()
    assert body["error"]["code"] == "invalid_domain"
    assert body["error"]["message"]
    assert api.call("GET", "/domains", tenant="t1").json() == {"domains": []}


def test_names_are_normalised(api):
    first = add(api, "EXAMPLE.com.")
    assert first.status == 201
    assert first.json()["domain"] == "example.com"
    idn = add(api, "Bücher.de")
    assert idn.json()["domain"] == "xn--bcher-kva.de"
    assert idn.json()["verification"]["record_name"] == "_sso-challenge.xn--bcher-kva.de"


# ---- the flow -------------------------------------------------------------------------------


def test_add_shows_the_record_and_is_idempotent(api):
    created = add(api, "example.com")
    assert created.status == 201
    body = created.json()
    assert body["status"] == "pending"
    assert body["status_label"] == "In Review"
    v = body["verification"]
    assert v["record_type"] == "TXT"
    assert v["record_name"] == "_sso-challenge.example.com"
    assert v["record_value"].startswith("sso-domain-verification=")
    assert len(v["record_value"].split("=", 1)[1]) >= 32  # >= 128 bits, url-safe base64
    again = add(api, "Example.COM")
    assert again.status == 200
    assert again.json()["verification"] == v


def test_tokens_differ_per_tenant(api):
    a = add(api, "example.com", tenant="t1").json()
    b = add(api, "example.com", tenant="t2").json()
    assert a["verification"]["record_value"] != b["verification"]["record_value"]


def test_check_dns_verifies_when_the_record_is_published(api, dns):
    body = add(api, "example.com").json()
    before = api.call("POST", "/domains/example.com/verify", tenant="t1")
    assert before.status == 200
    assert before.json()["status"] == "pending"
    assert before.json()["check"]["result"] == "nxdomain"
    publish(dns, body)
    after = api.call("POST", "/domains/example.com/verify", tenant="t1").json()
    assert after["status"] == "verified"
    check = after["check"]
    assert check["result"] == "verified"
    assert check["found"] == [body["verification"]["record_value"]]
    assert check["expected"] == body["verification"]["record_value"]
    assert check["checked_at"]
    got = api.call("GET", "/domains/example.com", tenant="t1").json()
    assert got["status"] == "verified"
    assert got["verified_at"]


def test_mismatch_is_reported_with_what_was_found(api, dns):
    add(api, "example.com")
    dns.store.add("_sso-challenge.example.com", "TXT", "sso-domain-verification=wrong")
    check = api.call("POST", "/domains/example.com/verify", tenant="t1").json()["check"]
    assert check["result"] == "mismatch"
    assert check["found"] == ["sso-domain-verification=wrong"]


def test_indeterminate_never_changes_state(api, dns):
    body = add(api, "example.com").json()
    publish(dns, body)
    assert api.call("POST", "/domains/example.com/verify", tenant="t1").json()["status"] == "verified"
    dns.store.behave("_sso-challenge.example.com", "servfail")
    resp = api.call("POST", "/domains/example.com/verify", tenant="t1").json()
    assert resp["check"]["result"] == "indeterminate"
    assert resp["status"] == "verified"


def test_other_tenants_see_404(api):
    add(api, "example.com", tenant="t1")
    for method, path in [
        ("GET", "/domains/example.com"),
        ("DELETE", "/domains/example.com"),
        ("POST", "/domains/example.com/verify"),
    ]:
        resp = api.call(method, path, tenant="t2")
        assert resp.status == 404, (method, path)
        assert resp.json()["error"]["code"] == "domain_not_found"
    assert api.call("GET", "/domains", tenant="t2").json() == {"domains": []}


def test_domain_verified_by_another_tenant_is_taken(api, dns):
    body = add(api, "example.com", tenant="t1").json()
    pending_b = add(api, "example.com", tenant="t2")
    assert pending_b.status == 201  # two pending claims may coexist
    publish(dns, body)
    assert api.call("POST", "/domains/example.com/verify", tenant="t1").json()["status"] == "verified"
    taken = add(api, "example.com", tenant="t3")
    assert taken.status == 409
    assert taken.json()["error"]["code"] == "domain_taken"
    # Tenant 2 publishes its own record too late: its check cannot take the domain.
    publish(dns, pending_b.json())
    late = api.call("POST", "/domains/example.com/verify", tenant="t2")
    assert late.status == 409
    assert late.json()["error"]["code"] == "domain_taken"
    assert api.call("GET", "/domains/example.com", tenant="t2").json()["status"] == "pending"


def test_subdomain_does_not_cover_parent(api, dns):
    body = add(api, "eu.example.com").json()
    publish(dns, body)
    assert api.call("POST", "/domains/eu.example.com/verify", tenant="t1").json()["status"] == "verified"
    other = add(api, "example.com", tenant="t2")
    assert other.status == 201  # the parent is still free to claim


def test_delete_releases_the_domain(api, dns):
    body = add(api, "example.com").json()
    publish(dns, body)
    api.call("POST", "/domains/example.com/verify", tenant="t1")
    assert api.call("DELETE", "/domains/example.com", tenant="t1").status == 204
    assert api.call("GET", "/domains/example.com", tenant="t1").status == 404
    assert add(api, "example.com", tenant="t2").status == 201


def test_list_returns_the_tenants_domains(api):
    add(api, "b.example.com")
    add(api, "a.example.com")
    add(api, "other.example", tenant="t2")
    names = [d["domain"] for d in api.call("GET", "/domains", tenant="t1").json()["domains"]]
    assert names == ["a.example.com", "b.example.com"]


def test_unknown_route_is_404_json(api):
    resp = api.call("GET", "/nothing-here", tenant="t1")
    assert resp.status == 404
    json.loads(resp.body)
