"""Domain claims and the one-verified-owner lock, in the single table.

Items:
- claim  pk=DOMAIN#<domain> sk=CLAIM#<tenant>  (one per tenant and domain; sparse due_pk/due_at when a
  check is scheduled; tenant_pk/tenant_sk for the tenant's list)
- owner  pk=DOMAIN#<domain> sk=OWNER           (exists only while one tenant holds it verified)

Every write of a claim is conditioned on the version it was read at (optimistic concurrency), and
becoming verified is one transaction with the owner lock, so two tenants can never both own a domain.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from sso_core.dal.connections import ROUTING_SK
from sso_core.dal.table import (
    DUE_INDEX,
    DUE_PARTITION,
    TENANT_INDEX,
    Table,
    TransactionCancelled,
    TxItem,
    collect_page,
    error_code,
    key,
    serialize,
)
from sso_core.models.domains import DomainClaim, DomainStatus
from sso_core.models.errors import ConcurrentChange, DomainTaken


def _pk(domain: str) -> str:
    return f"DOMAIN#{domain}"


def _claim_sk(tenant_id: str) -> str:
    return f"CLAIM#{tenant_id}"


OWNER_SK = "OWNER"


def _to_item(claim: DomainClaim) -> dict[str, Any]:
    data = claim.model_dump(mode="json", exclude_none=True)
    item: dict[str, Any] = {
        "pk": _pk(claim.domain),
        "sk": _claim_sk(claim.tenant_id),
        "type": "domain_claim",
        "tenant_pk": f"TENANT#{claim.tenant_id}",
        "tenant_sk": f"DOMAIN#{claim.domain}",
        **data,
    }
    if claim.next_check_at is not None and claim.status is not DomainStatus.EXPIRED:
        item["due_pk"] = DUE_PARTITION
        item["due_at"] = int(claim.next_check_at.timestamp())
    return item


def _from_item(item: dict[str, Any]) -> DomainClaim:
    return DomainClaim.model_validate(item)


class AlreadyExists(Exception):
    pass


class DomainRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    # ---- reads ----------------------------------------------------------------------------
    def get_claim(self, domain: str, tenant_id: str) -> DomainClaim | None:
        item = self.table.get(_pk(domain), _claim_sk(tenant_id))
        return _from_item(item) if item else None

    def owner_of(self, domain: str) -> str | None:
        item = self.table.get(_pk(domain), OWNER_SK)
        return str(item["tenant_id"]) if item else None

    def list_claims(self, tenant_id: str) -> list[DomainClaim]:
        items = self.table.query(
            IndexName=TENANT_INDEX,
            KeyConditionExpression="tenant_pk = :t AND begins_with(tenant_sk, :p)",
            ExpressionAttributeValues={":t": {"S": f"TENANT#{tenant_id}"}, ":p": {"S": "DOMAIN#"}},
        )
        # The index is eventually consistent and keys-only: read each claim's current state.
        keys = [(str(i["pk"]), str(i["sk"])) for i in items]
        claims = [_from_item(i) for i in self.table.batch_get(keys)]
        return sorted(claims, key=lambda c: c.domain)

    def page_of_claims(self, tenant_id: str, limit: int, cursor: str | None) -> tuple[list[DomainClaim], str | None]:
        """One page of the tenant's claims in domain order, and the next page's cursor (``InvalidCursor``)."""

        def read(position: str | None, count: int) -> tuple[list[tuple[str, DomainClaim]], bool]:
            keys, more = self.table.sorted_keys(
                ("tenant_pk", f"TENANT#{tenant_id}"),
                ("tenant_sk", "DOMAIN#"),
                position,
                count,
                index=TENANT_INDEX,
                start_key=lambda sort_key: (sort_key, _claim_sk(tenant_id)),
            )
            # The index is eventually consistent and keys-only: read each claim's current state (gone: skipped).
            found = {(str(i["pk"]), str(i["sk"])): i for i in self.table.batch_get([(k["pk"], k["sk"]) for k in keys])}
            rows = [(str(k["tenant_sk"]), found[(k["pk"], k["sk"])]) for k in keys if (k["pk"], k["sk"]) in found]
            return [(sort_key, _from_item(item)) for sort_key, item in rows], more

        return collect_page(read, "DOMAIN#", limit, cursor)

    def due_pages(self, now: datetime, page_size: int = 500) -> Iterator[list[DomainClaim]]:
        """Claims whose next check is due, a page at a time, from the sparse index only."""
        params: dict[str, Any] = {
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "due_pk = :p AND due_at <= :now",
            "ExpressionAttributeValues": {":p": {"S": DUE_PARTITION}, ":now": {"N": str(int(now.timestamp()))}},
            "Limit": page_size,
        }
        while True:
            items, last = self.table.query_page(**params)
            if items:
                yield [_from_item(i) for i in items]
            if not last:
                return
            params["ExclusiveStartKey"] = last

    # ---- writes ---------------------------------------------------------------------------
    def create_claim(self, claim: DomainClaim, extra_ops: Sequence[TxItem] = ()) -> None:
        put = {"Item": serialize(_to_item(claim)), "ConditionExpression": "attribute_not_exists(pk)"}
        try:
            if extra_ops:
                self.table.transact([("claim", {"Put": put}), *extra_ops])
            else:
                self.table.client.put_item(TableName=self.table.name, **put)
        except TransactionCancelled as exc:
            raise AlreadyExists from exc
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise AlreadyExists from exc
            raise

    def put_claim_op(self, claim: DomainClaim, expected_version: int) -> TxItem:
        """Transaction item: save ``claim`` if it is still at ``expected_version``."""
        return ("claim", self._put_claim(claim, expected_version))

    @staticmethod
    def password_still_on_check(domain: str, tenant_id: str) -> TxItem:
        """Transaction item: password login is still on for the tenant's claim of ``domain`` when it commits."""
        return (
            "password_still_on",
            {
                "ConditionCheck": {
                    "Key": key(_pk(domain), _claim_sk(tenant_id)),
                    "ConditionExpression": "password_login = :on",
                    "ExpressionAttributeValues": {":on": {"BOOL": True}},
                }
            },
        )

    def transact_checked(self, ops: list[TxItem]) -> None:
        """Run a transaction; any failed condition means a concurrent change (retry)."""
        self._transact(ops)

    def _put_claim(self, claim: DomainClaim, expected_version: int) -> dict[str, Any]:
        return {
            "Put": {
                "Item": serialize(_to_item(claim.model_copy(update={"version": expected_version + 1}))),
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": {"N": str(expected_version)}},
            }
        }

    def save_claim(self, claim: DomainClaim, expected_version: int) -> DomainClaim:
        put = self._put_claim(claim, expected_version)["Put"]
        try:
            self.table.client.put_item(TableName=self.table.name, **put)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise ConcurrentChange from exc
            raise
        return claim.model_copy(update={"version": expected_version + 1})

    def verify_claim(self, claim: DomainClaim, expected_version: int, extra_ops: Sequence[TxItem] = ()) -> DomainClaim:
        """Make ``claim`` the verified owner, atomically with the owner lock."""
        assert claim.verified_at is not None
        owner = {
            "Put": {
                "Item": serialize(
                    {
                        "pk": _pk(claim.domain),
                        "sk": OWNER_SK,
                        "type": "domain_owner",
                        "tenant_id": claim.tenant_id,
                        "verified_at": claim.verified_at.isoformat(),
                    }
                ),
                "ConditionExpression": "attribute_not_exists(pk) OR tenant_id = :t",
                "ExpressionAttributeValues": {":t": {"S": claim.tenant_id}},
            }
        }
        self._transact([("owner_lock", owner), ("claim", self._put_claim(claim, expected_version)), *extra_ops])
        return claim.model_copy(update={"version": expected_version + 1})

    def release_claim(self, claim: DomainClaim, expected_version: int, extra_ops: Sequence[TxItem] = ()) -> DomainClaim:
        """Save ``claim`` (no longer verified) and drop the owner lock it held, atomically."""
        self._transact(
            [
                ("owner_lock", self._delete_owner(claim.domain, claim.tenant_id)),
                ("claim", self._put_claim(claim, expected_version)),
                *extra_ops,
            ]
        )
        return claim.model_copy(update={"version": expected_version + 1})

    def delete_claim(self, claim: DomainClaim, extra_ops: Sequence[TxItem] = ()) -> None:
        ops: list[TxItem] = [
            (
                "claim",
                {
                    "Delete": {
                        "Key": key(_pk(claim.domain), _claim_sk(claim.tenant_id)),
                        "ConditionExpression": "version = :v",
                        "ExpressionAttributeValues": {":v": {"N": str(claim.version)}},
                    }
                },
            )
        ]
        if claim.status is DomainStatus.VERIFIED:
            ops.insert(0, ("owner_lock", self._delete_owner(claim.domain, claim.tenant_id)))
        # This tenant's routing of the domain to one of its connections goes with the claim.
        ops.append(
            (
                "routing",
                {
                    "Delete": {
                        "Key": key(_pk(claim.domain), ROUTING_SK),
                        "ConditionExpression": "attribute_not_exists(pk) OR tenant_id = :t",
                        "ExpressionAttributeValues": {":t": {"S": claim.tenant_id}},
                    }
                },
            )
        )
        ops.extend(extra_ops)
        self._transact(ops)

    def _delete_owner(self, domain: str, tenant_id: str) -> dict[str, Any]:
        return {
            "Delete": {
                "Key": key(_pk(domain), OWNER_SK),
                "ConditionExpression": "attribute_not_exists(pk) OR tenant_id = :t",
                "ExpressionAttributeValues": {":t": {"S": tenant_id}},
            }
        }

    def _transact(self, ops: list[TxItem]) -> None:
        """DomainTaken if another tenant holds the owner lock this transaction takes; ConcurrentChange otherwise."""
        try:
            self.table.transact(ops)
        except TransactionCancelled as exc:
            if exc.failed_on("owner_lock") and any(name == "owner_lock" and "Put" in op for name, op in ops):
                raise DomainTaken from exc
            raise ConcurrentChange from exc
