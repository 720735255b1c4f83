"""The tenant's Enterprise SSO entitlement, in the single table.

Items:
- entitlement  pk=TENANT#<t> sk=SSO_ACCESS   (status granted|revoked, plan, who and when; versioned)

Writes go in transactions with what they change (audit entries; on revocation, the connections they switch off):
``put_op`` is conditioned on the version read, ``granted_check`` lets another transaction (enabling a
connection) commit only while access is still granted, and ``not_enabled_check`` lets a revocation commit only
while a connection it left alone is still not enabled.
"""

from __future__ import annotations

from typing import Any

from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.table import Table, TransactionCancelled, TxItem, key, serialize, serialize_values
from sso_core.models.errors import ConcurrentChange
from sso_core.models.sso_access import SsoEntitlement

SK = "SSO_ACCESS"


def _pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


class EntitlementRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, tenant_id: str) -> SsoEntitlement | None:
        item = self.table.get(_pk(tenant_id), SK)
        return SsoEntitlement.model_validate(item) if item else None

    def put_op(self, entitlement: SsoEntitlement, expected_version: int | None) -> TxItem:
        """Transaction item: save ``entitlement`` (a new item when ``expected_version`` is None)."""
        saved = entitlement.model_copy(update={"version": (expected_version or 0) + 1})
        item = {"pk": _pk(saved.tenant_id), "sk": SK, "type": "sso_entitlement", **saved.model_dump(mode="json")}
        put: dict[str, Any] = {"TableName": self.table.name, "Item": serialize(item)}
        if expected_version is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = {":v": {"N": str(expected_version)}}
        return ("entitlement", {"Put": put})

    def granted_check(self, tenant_id: str) -> TxItem:
        """Transaction item: the tenant's access is still granted when the transaction commits."""
        return (
            "sso_access_granted",
            {
                "ConditionCheck": {
                    "TableName": self.table.name,
                    "Key": key(_pk(tenant_id), SK),
                    "ConditionExpression": "#s = :granted",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": serialize_values({":granted": "granted"}),
                }
            },
        )

    @staticmethod
    def not_enabled_check(connection_id: str) -> TxItem:
        """Transaction item: the connection is not enabled when the transaction commits."""
        return ConnectionRepository.not_enabled_check(connection_id)

    def transact(self, ops: list[TxItem]) -> None:
        """Run a transaction; a failed condition means something changed since it was read (retry)."""
        try:
            self.table.transact(ops)
        except TransactionCancelled as exc:
            raise ConcurrentChange() from exc
