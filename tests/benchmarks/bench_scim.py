"""A provisioning run through the local stack: 1,000 users and 50 groups, as Entra sends them, beside its peer.

    python -c "from tests.benchmarks import bench_scim; bench_scim.main()"

The local stack (``sso_local.stack``: moto server, HTTP front, gateway, the Lambda handlers in process) serves a
tenant with a verified domain; one HTTP client (keep-alive, one request at a time, as a provisioning job runs):
- users: for each, ``GET /Users?filter=userName eq "..."`` (Entra's lookup before create), then ``POST /Users``;
- groups: for each, the ``displayName eq`` lookup, ``POST /Groups``, then one ``PATCH`` adding its 20 members;
- a userName lookup that finds the user, and ``PATCH active "False"``, each for 10% of the users.
The peer, same run and same stack: ``POST /invitations`` for as many emails (the way members are made by hand).
Printed: requests per second per phase, DynamoDB requests per SCIM operation (counted on the client the handlers
share), and the ratio of a SCIM create to an invitation create.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2

USERS = int(os.environ.get("SCIM_BENCH_USERS", "1000"))
GROUPS = int(os.environ.get("SCIM_BENCH_GROUPS", "50"))
DOMAIN = "bench.example"
TENANT = "bench"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _user(n: int) -> dict[str, Any]:
    email = f"user{n:05d}@{DOMAIN}"
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "externalId": str(uuid.uuid4()),
        "userName": email,
        "active": True,
        "displayName": f"User {n}",
        "emails": [{"primary": True, "type": "work", "value": email}],
        "name": {"givenName": "User", "familyName": str(n)},
    }


class _Phase:
    def __init__(self, counter: Any) -> None:
        self.counter = counter
        self.results: dict[str, dict[str, float]] = {}

    def run(self, name: str, operations: int, body: Callable[[], None]) -> None:
        calls_before = self.counter.total
        start = time.perf_counter()
        body()
        seconds = time.perf_counter() - start
        self.results[name] = {
            "operations": operations,
            "seconds": round(seconds, 2),
            "ops_per_s": round(operations / seconds, 1),
            "dynamodb_per_op": round((self.counter.total - calls_before) / operations, 2),
        }


def main() -> dict[str, Any]:
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    from sso_core.dal.table import dynamodb_client
    from sso_local.stack import LocalStack
    from tests.support.requests import RequestCounter

    with (
        tempfile.TemporaryDirectory() as state,
        LocalStack(port=0, state_dir=Path(state), dns_check_interval=0, quiet=True) as stack,
    ):
        owner = stack.authority.issue(TENANT, f"owner@{DOMAIN}", "owner", ["acct-1"])
        admin_http = httpx2.Client(base_url=stack.url, headers={"Authorization": f"Bearer {owner}"}, timeout=30)
        record = admin_http.post("/domains", json={"domain": DOMAIN}).json()["verification"]
        stack.dns.store.add(record["record_name"], "TXT", record["record_value"])
        assert admin_http.post(f"/domains/{DOMAIN}/verify").json()["status"] == "verified"
        token = admin_http.post("/provisioning/scim-token").json()["token"]
        scim = httpx2.Client(
            base_url=f"{stack.url}/scim/v2",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
            timeout=30,
        )
        counter = RequestCounter(dynamodb_client())
        phases = _Phase(counter)
        ids: list[str] = []
        group_ids: list[str] = []

        def lookups_then_creates() -> None:
            for n in range(USERS):
                body = _user(n)
                found = scim.get("/Users", params={"filter": f'userName eq "{body["userName"]}"'})
                assert found.json()["totalResults"] == 0, found.text
                created = scim.post("/Users", json=body)
                assert created.status_code == 201, created.text
                ids.append(created.json()["id"])

        sampled = max(USERS // 10, 1)

        def lookups_only() -> None:
            for n in range(sampled):
                found = scim.get("/Users", params={"filter": f'userName eq "user{n:05d}@{DOMAIN}"'})
                assert found.json()["totalResults"] == 1

        def groups() -> None:
            per_group = max(len(ids) // GROUPS, 1)
            for g in range(GROUPS):
                name = f"Team {g:02d}"
                scim.get("/Groups", params={"filter": f'displayName eq "{name}"', "excludedAttributes": "members"})
                created = scim.post("/Groups", json={"displayName": name, "externalId": str(uuid.uuid4())})
                assert created.status_code == 201, created.text
                group_ids.append(created.json()["id"])
                members = [{"value": u} for u in ids[g * per_group : (g + 1) * per_group]]
                add = {"schemas": [PATCH], "Operations": [{"op": "Add", "path": "members", "value": members}]}
                patched = scim.patch(f"/Groups/{created.json()['id']}", json=add)
                assert patched.status_code == 200, patched.text

        deactivated = max(USERS // 10, 1)

        def deactivations() -> None:
            for user_id in ids[:deactivated]:
                op = {"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}
                assert scim.patch(f"/Users/{user_id}", json=op).status_code == 200

        def invitations() -> None:
            for n in range(USERS):
                resp = admin_http.post(
                    "/invitations", json={"email": f"invitee{n:05d}@{DOMAIN}", "role": "member", "accounts": []}
                )
                assert resp.status_code == 201, resp.text

        phases.run("scim: userName lookup + create (per user)", USERS, lookups_then_creates)
        phases.run("scim: userName lookup of an existing user", sampled, lookups_only)
        phases.run("scim: group lookup + create + add members (per group)", GROUPS, groups)
        phases.run("scim: deactivate (PATCH active False)", deactivated, deactivations)
        phases.run("peer: POST /invitations (per invitation)", USERS, invitations)
        scim.close()
        admin_http.close()

    results = phases.results
    create = results["scim: userName lookup + create (per user)"]
    peer = results["peer: POST /invitations (per invitation)"]
    print(f"SCIM provisioning run through the local stack: {USERS} users, {GROUPS} groups (one client, sequential)")
    for name, figures in results.items():
        print(
            f"  {name:58s} {figures['operations']:5d} ops  {figures['seconds']:7.2f} s  "
            f"{figures['ops_per_s']:7.1f} ops/s  {figures['dynamodb_per_op']:5.2f} DynamoDB requests/op"
        )
    # A user costs two HTTP requests (lookup + create), an invitation one: compare per HTTP request as well.
    per_request = create["ops_per_s"] * 2 / peer["ops_per_s"]
    per_user = create["ops_per_s"] / peer["ops_per_s"]
    print(f"  ratio, SCIM users per second / invitations per second: {per_user:.2f}")
    print(f"  ratio, SCIM requests per second / invitation requests per second: {per_request:.2f}")
    return results


if __name__ == "__main__":
    main()
