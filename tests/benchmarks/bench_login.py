"""One login end to end on the local stack (issue 14, target 4): latency and DynamoDB requests.

    python -m tests.benchmarks.bench_login

The local stack's parts: a moto server on 127.0.0.1 (every DynamoDB and Secrets Manager call is
an HTTP request to it), the DNS server, the gateway that routes by template.yaml and runs each
handler in process, and a real pysaml2 IdP. One tenant is set up through the public API, then
each round is what a browser and the application do: ``GET /saml/{id}/login`` (AuthnRequest and
binding cookie), the IdP's signed response POSTed to the ACS, and ``POST /sso/token`` with the
code. Latency is per step and for the login, p50 and p95 over ``BENCH_LOGIN_ROUNDS`` (default 40)
rounds after a warm-up round; DynamoDB requests are counted with a botocore ``before-parameter-build`` hook
on the one cached client, by step and operation, and each is named with why it is made.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.update(
    {
        "POWERTOOLS_SERVICE_NAME": "enterprise-sso",
        "POWERTOOLS_METRICS_NAMESPACE": "EnterpriseSSO",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "SSO_PUBLIC_URL": "https://sso.test",
    }
)

# Why each DynamoDB request of one login is made: (step, operation and the item types by key prefix).
WHY = {
    ("login", "GetItem CONN#/CONN#"): "the connection: enabled?, its IdP, binding and SP settings",
    ("login", "PutItem AUTHNREQ#/AUTHNREQ#"): "the AuthnRequest state: request id, browser nonce hash, expiry",
    ("acs", "GetItem CONN#/CONN#"): "the connection named in the ACS URL: enabled?, IdP certificates",
    ("acs", "PutItem ASSERTION#/ASSERTION#"): "replay guard: the assertion id, conditional put (once only)",
    ("acs", "UpdateItem AUTHNREQ#/AUTHNREQ#"): "InResponseTo: consume the request, conditional (once, this browser)",
    ("acs", "GetItem DOMAIN#/CLAIM#"): "the asserted email's domain is verified for this tenant",
    ("acs", "GetItem TENANT#/USEREMAIL#"): "the invited user by email (the email -> user id item)",
    ("acs", "GetItem TENANT#/USER#"): "the membership itself: accepted?, role, accounts",
    ("acs", "UpdateItem TENANT#/USER#"): "the user's last_login_at",
    ("acs", "PutItem CODE#/CODE#"): "the one-time code, hashed, with the login profile, 60 s TTL",
    ("acs", "UpdateItem CONN#/CONN#"): "the connection's first/last success (the password-login guard reads it)",
    ("acs", "PutItem CONN#/LOGIN#"): "the login trace entry the admin sees",
    ("token", "DeleteItem CODE#/CODE#"): "redeem: delete the hashed code, conditional, returning the profile",
    ("token", "GetItem CONN#/CONN#"): "the connection is still enabled when the code is redeemed",
}


def _item_kind(params: dict[str, Any]) -> str:
    """The item types a request touches, by their key prefixes (``LOGIN#``, ``CONN#``...)."""
    keys = [params.get("Key"), params.get("Item")]
    keys += [
        (entry.get(kind) or {}).get("Key") or (entry.get(kind) or {}).get("Item")
        for entry in params.get("TransactItems", [])
        for kind in ("Put", "Update", "Delete", "ConditionCheck")
    ]
    if "KeyConditionExpression" in params:
        values = params.get("ExpressionAttributeValues", {})
        keys.append({"pk": next(iter(values.values()), {})})
    kinds = []
    for key in keys:
        if key:
            pk = str((key.get("pk") or {}).get("S", "?")).split("#")[0]
            sk = str((key.get("sk") or {}).get("S", "")).split("#")[0]
            kinds.append(f"{pk}#/{sk}#" if sk else f"{pk}#")
    return "+".join(kinds) or "?"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(rounds: int | None = None) -> dict[str, Any]:
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    from sso_core.aws_clients import aws_client, reset_clients
    from sso_core.config import get_settings
    from sso_core.gateways import sp_keys
    from sso_local import moto_patches
    from sso_local.dns_server import LocalDnsServer, free_port
    from sso_local.gateway import Gateway
    from sso_local.template import create_table
    from sso_local.tokens import TokenAuthority
    from tests.support.api import Api
    from tests.support.sso_fixtures import make_world
    from tests.support.sso_world import CLIENT_SECRET, code_of, idp_keys

    rounds = rounds or int(os.environ.get("BENCH_LOGIN_ROUNDS", "40"))
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the moto server's access log
    moto_patches.install()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        with tempfile.TemporaryDirectory() as state, LocalDnsServer() as dns:
            os.environ.update(
                {
                    "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                    "SSO_TABLE_NAME": "sso-bench",
                    "SSO_CLIENT_SECRET": CLIENT_SECRET,
                    "SSO_SP_KEY_SECRET_ID": "bench/sp-signing-key",
                    "SSO_LOCAL_OUTBOX": str(Path(state) / "outbox"),
                    "SSO_APP_REDIRECT_URL": "https://app.test/sso/callback",
                    "SSO_INVITE_ACCEPT_URL": "https://sso.test/invitations/accept",
                    "SSO_DNS_NAMESERVERS": dns.address,
                    "SSO_DNS_TIMEOUT_SECONDS": "0.5",
                }
            )
            step = {"name": "setup"}
            calls: Counter[tuple[str, str]] = Counter()

            def count(model: Any, params: dict[str, Any], **_: Any) -> None:
                calls[(step["name"], f"{model.name} {_item_kind(params)}")] += 1

            # On the session, before any client is made: every DynamoDB client the handlers use counts.
            boto3._get_default_session().events.register("before-parameter-build.dynamodb", count)
            get_settings.cache_clear()
            reset_clients()
            sp_keys.clear_cache()
            dynamodb = aws_client("dynamodb", "AWS_ENDPOINT_URL_DYNAMODB", max_pool_connections=64)
            create_table(dynamodb, "sso-bench")
            authority = TokenAuthority(Path(state) / "tokens")
            api = Api(Gateway(authority), authority)
            from sso_core.clock import utcnow
            from sso_core.saml.certificates import generate_sp_keypair

            world = make_world(
                api, dns, Path(state) / "outbox", idp_keys("bench-idp"), generate_sp_keypair("sso.test", utcnow())
            ).setup()

            timings: dict[str, list[float]] = {"login": [], "acs": [], "token": [], "total": []}
            totals: Counter[tuple[str, str]] = Counter()
            for number in range(rounds + 1):
                calls.clear()
                started_at = time.perf_counter()
                step["name"] = "login"
                started = world.start("alice@acme.test")
                after_start = time.perf_counter()
                response = world.response_b64(started.request_id, "alice@acme.test")  # the IdP's part: not timed
                step["name"] = "acs"
                acs_at = time.perf_counter()
                acs = world.post_acs(response, started.cookies, started.relay_state)
                after_acs = time.perf_counter()
                step["name"] = "token"
                redeemed = world.redeem(code_of(acs))
                done = time.perf_counter()
                assert redeemed.status == 200, redeemed.text
                if number == 0:  # warm-up: the first login builds the connection's pysaml2 state
                    continue
                totals.update(calls)
                timings["login"].append((after_start - started_at) * 1000)
                timings["acs"].append((after_acs - acs_at) * 1000)
                timings["token"].append((done - after_acs) * 1000)
                timings["total"].append((after_start - started_at + done - acs_at) * 1000)
            boto3._get_default_session().events.unregister("before-parameter-build.dynamodb", count)
            reset_clients()
    finally:
        server.stop()

    per_login = {key: value / rounds for key, value in totals.items()}
    figures: dict[str, Any] = {
        name: {"p50_ms": round(statistics.median(v), 1), "p95_ms": round(_percentile(v, 0.95), 1)}
        for name, v in timings.items()
    }
    figures["dynamodb_requests_per_login"] = round(sum(per_login.values()), 2)
    figures["dynamodb_by_step"] = {f"{s}:{op}": round(n, 2) for (s, op), n in sorted(per_login.items())}

    print(f"One login end to end on the local stack (moto server over HTTP), {rounds} logins")
    for name in ("login", "acs", "token", "total"):
        label = {"login": "GET login", "acs": "POST acs", "token": "POST /sso/token", "total": "whole login"}[name]
        print(f"  {label:<16} p50 {figures[name]['p50_ms']:7.1f} ms   p95 {figures[name]['p95_ms']:7.1f} ms")
    print(f"  DynamoDB requests per login: {figures['dynamodb_requests_per_login']}")
    for (step_name, operation), number in sorted(per_login.items()):
        why = WHY.get((step_name, operation), "(not yet described: see docs/decisions.md)")
        print(f"    {step_name:<6} {operation:<19} x{number:g}  {why}")
    return figures


if __name__ == "__main__":
    main()
