"""A bounded load run against the local stack over real HTTP on 127.0.0.1 (`make load`; a short run is part of
`make bench`).

Virtual users, each on a keep-alive connection of its own, sign in again and again the way a browser does: login
start, the demo IdP (pysaml2's IdP side: AuthnRequest checked, sign-in form, signed response), the ACS, then the
application redeems the code at /sso/token. Admins meanwhile list domains, connections, the audit log and
invitations, and now and then invite someone. Afterwards it checks what matters: no 5xx; every login of the
invited user succeeded; every code issued was redeemed exactly once (a second redemption of each fails); the table
holds one replay-cache entry and one used request per login and no code left (nothing written twice).

    python -m tests.benchmarks.load --seconds 150 --users 8 --admins 2
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
warnings.filterwarnings("ignore", message="CFB has been moved")  # pysaml2 imports a deprecated cipher mode
warnings.filterwarnings("ignore", message="No application metrics to publish")

USER = "alice@example.com"
PASSWORD = "alice-demo"  # shared/sso_local/fixtures/demo_users.json
DOMAIN = "example.com"
_INPUT = re.compile(r"<input[^>]*name=['\"](?P<name>[^'\"]+)['\"][^>]*value=['\"](?P<value>[^'\"]*)['\"]", re.I)
_ACTION = re.compile(r"<form[^>]*action=['\"](?P<action>[^'\"]+)['\"]", re.I)
_COOKIE = re.compile(r"^(?P<name>[^=;\s]+)=(?P<value>[^;]*)")


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass
class Recorder:
    latencies: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: defaultdict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    failures: Counter[str] = field(default_factory=Counter)
    codes: list[str] = field(default_factory=list)
    logins: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, route: str, seconds: float, status: int) -> None:
        with self.lock:
            self.latencies[route].append(seconds)
            self.statuses[route][status] += 1


class Client:
    """One keep-alive HTTP connection to the stack (one browser, or one admin console)."""

    def __init__(self, port: int, recorder: Recorder) -> None:
        self.port = port
        self.recorder = recorder
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(
        self, route: str, method: str, target: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Reply:
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                self.conn.request(method, target, body=body, headers=headers or {})
                raw = self.conn.getresponse()
                reply = Reply(raw.status, raw.getheaders(), raw.read())
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise
        self.recorder.add(route, time.perf_counter() - started, reply.status)
        return reply

    def close(self) -> None:
        self.conn.close()


def _target(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _form(html: str) -> tuple[str, dict[str, str]]:
    action = _ACTION.search(html)
    assert action, html[:300]
    fields = {m.group("name"): unescape(m.group("value")) for m in _INPUT.finditer(html)}
    return unescape(action.group("action")), fields


FORM = {"content-type": "application/x-www-form-urlencoded"}


def one_login(client: Client, connection_id: str, client_secret: str) -> str:
    """A browser's sign-in, then the application's redemption. Returns the outcome ("ok" or what went wrong)."""
    start = client.request("login_start", "GET", f"/saml/{connection_id}/login?{urlencode({'email': USER})}")
    cookies = "; ".join(
        m.group(0) for v in (h[1] for h in start.headers if h[0].lower() == "set-cookie") if (m := _COOKIE.match(v))
    )
    if start.status == 302:
        idp = client.request("idp_sso", "GET", _target(start.header("location") or ""))
    elif start.status == 200:
        action, fields = _form(start.text)
        idp = client.request("idp_sso", "POST", _target(action), urlencode(fields).encode(), FORM)
    else:
        return f"login_start {start.status}"
    if idp.status != 200:
        return f"idp_sso {idp.status}"
    _, fields = _form(idp.text)
    fields.update({"email": USER, "password": PASSWORD})
    signed = client.request("idp_login", "POST", "/_local/idp/login", urlencode(fields).encode(), FORM)
    if signed.status != 200:
        return f"idp_login {signed.status}"
    acs_url, fields = _form(signed.text)
    acs = client.request("acs", "POST", _target(acs_url), urlencode(fields).encode(), {**FORM, "cookie": cookies})
    if acs.status != 302:
        reference = re.search(r"SSO-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}", acs.text)
        return f"acs {acs.status} {reference.group(0) if reference else ''}".strip()
    code = parse_qs(urlsplit(acs.header("location") or "").query)["code"][0]
    redeemed = client.request(
        "token",
        "POST",
        "/sso/token",
        json.dumps({"code": code}).encode(),
        {"content-type": "application/json", "authorization": f"Bearer {client_secret}"},
    )
    with client.recorder.lock:
        client.recorder.codes.append(code)
    if redeemed.status != 200 or json.loads(redeemed.body)["user"]["email"] != USER:
        return f"token {redeemed.status}"
    return "ok"


def admin_round(client: Client, token: str, n: int) -> None:
    auth = {"authorization": f"Bearer {token}"}
    client.request("GET /domains", "GET", "/domains", headers=auth)
    client.request("GET /connections", "GET", "/connections", headers=auth)
    client.request("GET /audit", "GET", "/audit?limit=50", headers=auth)
    client.request("GET /invitations", "GET", "/invitations", headers=auth)
    if n % 10 == 0:
        body = json.dumps({"email": f"load-{n}-{threading.get_ident()}@{DOMAIN}", "role": "member", "accounts": ["a"]})
        client.request(
            "POST /invitations", "POST", "/invitations", body.encode(), {**auth, "content-type": "application/json"}
        )


def setup(port: int, stack: Any, recorder: Recorder) -> tuple[str, str]:
    """The walk of `make run`, over HTTP: verified domain, connection, demo IdP, enabled, invited user accepted."""
    client = Client(port, recorder)
    token = stack.authority.issue("acme", "owner@acme.test", "owner", ["a"])
    auth = {"authorization": f"Bearer {token}", "content-type": "application/json"}

    def call(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        reply = client.request("setup", method, path, data, headers if headers is not None else auth)
        assert reply.status < 300, (method, path, reply.status, reply.text[:300])
        return json.loads(reply.body) if reply.body else None

    record = call("POST", "/domains", {"domain": DOMAIN})["verification"]
    call("POST", "/_local/dns", {"name": record["record_name"], "type": "TXT", "value": record["record_value"]}, {})
    assert call("POST", f"/domains/{DOMAIN}/verify")["status"] == "verified"
    connection_id = call("POST", "/connections", {"domains": [DOMAIN]})["id"]
    metadata = client.request("setup", "GET", "/_local/idp/metadata").text
    call("PUT", f"/connections/{connection_id}/idp", {"metadata_xml": metadata})
    call("PUT", f"/connections/{connection_id}/status", {"enabled": True})
    call("POST", "/invitations", {"email": USER, "role": "member", "accounts": ["a"]})
    mail = max(stack.outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime).read_bytes().decode("utf-8", "replace")
    import quopri

    text = quopri.decodestring(mail.encode()).decode("utf-8", "replace")
    link = re.search(r"[?&]token=([A-Za-z0-9_\-%]+)", text)
    assert link, "no accept link in the invitation mail"
    from urllib.parse import unquote

    call("POST", "/invitations/accept", {"token": unquote(link.group(1))}, {"content-type": "application/json"})
    client.close()
    return connection_id, token


def _percentile(values: list[float], q: int) -> float:
    """The q-th percentile (1..99), inclusive method."""
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def run(seconds: float, users: int, admins: int, quiet: bool = False) -> dict[str, Any]:
    from sso_local.stack import LocalStack
    from tests.support.sso_checks import stored_items

    recorder = Recorder()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.pop("SSO_DNS_NAMESERVERS", None)
        os.environ["SSO_LOCAL_OUTBOX"] = str(Path(tmp) / "outbox")
        with LocalStack(port=0, state_dir=Path(tmp) / "state", dns_check_interval=0, quiet=True) as stack:
            connection_id, token = setup(stack.port, stack, recorder)
            assert stack.client_secret
            secret = stack.client_secret
            stop = threading.Event()
            outcomes: Counter[str] = Counter()

            def browser() -> None:
                client = Client(stack.port, recorder)
                while not stop.is_set():
                    outcome = one_login(client, connection_id, secret)
                    with recorder.lock:
                        outcomes[outcome] += 1
                        recorder.logins += 1
                client.close()

            def admin() -> None:
                client = Client(stack.port, recorder)
                n = 0
                while not stop.is_set():
                    admin_round(client, token, n)
                    n += 1
                client.close()

            threads = [threading.Thread(target=browser) for _ in range(users)]
            threads += [threading.Thread(target=admin) for _ in range(admins)]
            began = time.perf_counter()
            for t in threads:
                t.start()
            time.sleep(seconds)
            stop.set()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - began

            # Checks. A second redemption of every code must fail: each was redeemed exactly once.
            checker = Client(stack.port, Recorder())
            again = Counter(
                checker.request(
                    "check",
                    "POST",
                    "/sso/token",
                    json.dumps({"code": code}).encode(),
                    {"content-type": "application/json", "authorization": f"Bearer {secret}"},
                ).status
                for code in recorder.codes
            )
            checker.close()
            seen = stored_items("assertion_seen")
            requests_used = [r for r in stored_items("authn_request") if r.get("used_by")]
            codes_left = stored_items("login_code")

    ok = outcomes["ok"]
    server_errors = {route: sum(n for s, n in c.items() if s >= 500) for route, c in recorder.statuses.items()}
    result: dict[str, Any] = {
        "seconds": round(elapsed, 1),
        "users": users,
        "admins": admins,
        "logins": recorder.logins,
        "logins_ok": ok,
        "logins_per_second": round(ok / elapsed, 2),
        "outcomes": dict(outcomes),
        "server_errors": sum(server_errors.values()),
        "codes_issued": len(recorder.codes),
        "codes_unique": len(set(recorder.codes)),
        "second_redemptions": dict(again),
        "replay_cache_items": len(seen),
        "requests_used": len(requests_used),
        "codes_left": len(codes_left),
        "routes": {
            route: {
                "n": len(values),
                "p50_ms": round(statistics.median(values) * 1000, 1),
                "p95_ms": round(_percentile(values, 95) * 1000, 1),
                "p99_ms": round(_percentile(values, 99) * 1000, 1),
            }
            for route, values in sorted(recorder.latencies.items())
            if route != "setup"
        },
    }
    checks = {
        "zero 5xx": result["server_errors"] == 0,
        "every login of the invited user succeeded": ok == recorder.logins and ok > 0,
        "every code issued once and redeemed exactly once": (
            len(recorder.codes) == ok == len(set(recorder.codes)) and dict(again) == ({400: ok} if ok else {})
        ),
        "one replay-cache entry and one used request per login": len(seen) == ok == len(requests_used),
        "no code left in the table": not codes_left,
    }
    result["checks"] = checks
    if not quiet:
        print_report(result)
    return result


def print_report(result: dict[str, Any]) -> None:
    print(
        f"load: {result['users']} browsers + {result['admins']} admins for {result['seconds']} s against the local "
        f"stack (one event at a time in its process, as one Lambda execution environment)"
    )
    print(f"  logins: {result['logins_ok']} ok of {result['logins']}, {result['logins_per_second']} logins/s")
    if set(result["outcomes"]) - {"ok"}:
        print(f"  outcomes: {result['outcomes']}")
    print(f"  {'route':<20} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for route, r in result["routes"].items():
        print(f"  {route:<20} {r['n']:>6} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['p99_ms']:>8}")
    print(
        f"  5xx: {result['server_errors']}; codes issued {result['codes_issued']} (unique {result['codes_unique']}),"
        f" second redemption {result['second_redemptions']}; replay-cache items {result['replay_cache_items']},"
        f" used requests {result['requests_used']}, codes left {result['codes_left']}"
    )
    for name, passed in result["checks"].items():
        print(f"  [{'ok' if passed else 'FAILED'}] {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("LOAD_SECONDS", 150)))
    parser.add_argument("--users", type=int, default=int(os.environ.get("LOAD_USERS", 8)))
    parser.add_argument("--admins", type=int, default=int(os.environ.get("LOAD_ADMINS", 2)))
    args = parser.parse_args(argv)
    result = run(args.seconds, args.users, args.admins)
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
