"""Scheduled verification throughput against the local DNS server and a moto server.

Prints domains per second, DynamoDB requests and DNS queries per due domain, and compares the sparse-index
run with its peer, a run that finds due domains by scanning the table (what the index avoids), on the same data.

The DNS server is the local stack's: the resolver and the zones' authoritative server in one, so each check
walks to the zone cut and asks the authoritative server (three queries: NS of the name, whose negative answer's
SOA names the zone; NS of the zone, with glue; the TXT question without recursion). ``BENCH_DNS_AUTHORITATIVE=0``
measures the resolver-only check (``SSO_DNS_AUTHORITATIVE=false``: one query) for comparison.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import timedelta
from typing import Any

import boto3

from sso_core.aws_clients import reset_clients
from sso_core.clock import utcnow
from sso_core.config import Settings
from sso_core.dal.domains import DomainRepository, _to_item
from sso_core.dal.table import Table, serialize
from sso_core.gateways.txt_lookup import record_name, record_value
from sso_core.logic.domain_verification import DomainService
from sso_core.models.domains import DomainClaim, DomainStatus
from sso_local.dns_server import LocalDnsServer, free_port
from sso_local.template import create_table
from tests.support.requests import RequestCounter

DUE = int(os.environ.get("BENCH_DUE_DOMAINS", "2000"))
NOT_DUE = int(os.environ.get("BENCH_NOT_DUE_DOMAINS", "2000"))
# Share of due claims whose record is published now (they become verified: one transaction each).
NEWLY_VERIFIED = float(os.environ.get("BENCH_NEWLY_VERIFIED", "0.05"))
AUTHORITATIVE = os.environ.get("BENCH_DNS_AUTHORITATIVE", "1") not in ("0", "false")


def _seed(table: Table, dns: LocalDnsServer, settings: Settings, due: int, not_due: int) -> None:
    now = utcnow()
    requests: list[dict[str, Any]] = []
    for i in range(due + not_due):
        is_due = i < due
        claim = DomainClaim(
            domain=f"d{i}.bench.example",
            tenant_id=f"tenant-{i % 50}",
            token=f"token-{i:06d}-abcdefghijklmnop",
            status=DomainStatus.PENDING,
            created_at=now,
            expires_at=now + timedelta(days=14),
            next_check_at=now - timedelta(seconds=5) if is_due else now + timedelta(hours=6),
        )
        if is_due and i < due * NEWLY_VERIFIED:
            dns.store.add(
                record_name(claim.domain, settings.dns_record_label),
                "TXT",
                record_value(claim.token, settings.dns_record_prefix),
            )
        requests.append({"PutRequest": {"Item": serialize(_to_item(claim))}})
    for start in range(0, len(requests), 25):
        table.client.batch_write_item(RequestItems={table.name: requests[start : start + 25]})


def _scan_peer(table: Table) -> tuple[int, int]:
    """The peer: find due claims without the index (a full scan with a filter). Returns (items read, due found)."""
    now = int(time.time())
    read = found = 0
    params: dict[str, Any] = {
        "TableName": table.name,
        "FilterExpression": "attribute_exists(due_at) AND due_at <= :now",
        "ExpressionAttributeValues": {":now": {"N": str(now)}},
    }
    while True:
        resp = table.client.scan(**params)
        read += resp["ScannedCount"]
        found += resp["Count"]
        if "LastEvaluatedKey" not in resp:
            return read, found
        params["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def main() -> dict[str, float]:
    from moto.server import ThreadedMotoServer

    from sso_local import moto_patches

    moto_patches.install()

    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
    reset_clients()
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    dns = LocalDnsServer(authoritative=True).start()
    try:
        create_table(boto3.client("dynamodb"), "bench")
        table = Table("bench")
        settings = Settings(
            table_name="bench",
            dns_nameservers=(dns.address,),
            dns_timeout_seconds=2.0,
            dns_authoritative=AUTHORITATIVE,
            dns_authoritative_port=dns.port,
            dns_authoritative_allow_private=True,
        )
        _seed(table, dns, settings, DUE, NOT_DUE)
        scanned, scan_found = _scan_peer(table)

        counter = RequestCounter(table.client)
        queries_before = dns.store.queries
        service = DomainService(settings, DomainRepository(table))
        started = time.perf_counter()
        summary = service.run_scheduled()
        elapsed = time.perf_counter() - started
        dns_queries = dns.store.queries - queries_before
        checked = summary.checked
        figures = {
            "due_domains": float(DUE),
            "not_due_domains": float(NOT_DUE),
            "checked": float(checked),
            "verified": float(summary.verified),
            "seconds": elapsed,
            "domains_per_second": checked / elapsed if elapsed else 0.0,
            "dynamodb_requests_per_domain": counter.total / max(checked, 1),
            "items_read_per_due_domain": counter.items_returned / max(checked, 1),
            "dns_queries_per_domain": dns_queries / max(checked, 1),
            "peer_scan_items_read_per_due_domain": scanned / max(scan_found, 1),
        }
        figures["read_ratio_peer_over_ours"] = figures["peer_scan_items_read_per_due_domain"] / max(
            figures["items_read_per_due_domain"], 1e-9
        )
        print("== Scheduled DNS verification (moto server + local DNS server, same run) ==")
        print(f"due domains            {DUE} (and {NOT_DUE} not due)")
        print(f"checked / verified     {checked} / {summary.verified} in {elapsed:.2f} s (target: 2000 within 60 s)")
        print(f"throughput             {figures['domains_per_second']:.0f} domains/s")
        per_domain = figures["dynamodb_requests_per_domain"]
        print(f"DynamoDB requests      {per_domain:.3f} per due domain ({dict(counter.calls)})")
        path = "authoritative servers first" if AUTHORITATIVE else "resolvers only"
        print(f"DNS queries            {figures['dns_queries_per_domain']:.3f} per due domain ({path})")
        print(
            f"items read per due domain: ours {figures['items_read_per_due_domain']:.2f} (sparse index) vs "
            f"peer {figures['peer_scan_items_read_per_due_domain']:.2f} (table scan) -> "
            f"peer/ours = {figures['read_ratio_peer_over_ours']:.1f}x"
        )
        _ = statistics  # keeps the import for future percentile figures
        return figures
    finally:
        dns.stop()
        moto.stop()


if __name__ == "__main__":
    main()
