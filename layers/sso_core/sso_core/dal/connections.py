"""Connections and their uniqueness pointers.

Items:
- connection  pk=CONN#<id> sk=CONN                 (tenant_pk/tenant_sk for the tenant's list)
- routing     pk=DOMAIN#<domain> sk=CONNECTION     (a domain routes to at most one connection)

An IdP entity ID is not unique: several connections, of one tenant or several, may name the same IdP (a
multi-tenant IdP, or one directory serving two organisations). Isolation comes from each connection's own SP
entity ID (the audience), ACS URL and certificates, never from a global claim on the IdP's name.
"""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError

from sso_core.dal.table import TENANT_INDEX, Table, cancellation_codes, error_code, serialize
from sso_core.models.connections import Connection
from sso_core.models.errors import ConcurrentChange, Conflict

ROUTING_SK = "CONNECTION"


class DomainHasConnection(Conflict):
    code = "domain_has_connection"
    default_message = "One of these domains is already routed to another connection."


ID_PATTERN = re.compile(r"conn_[0-9a-f]{20}")


def plausible_connection_id(connection_id: str) -> bool:
    return ID_PATTERN.fullmatch(connection_id) is not None  # fullmatch: "$" allows a trailing newline


def _pk(connection_id: str) -> str:
    return f"CONN#{connection_id}"


def _to_item(conn: Connection) -> dict[str, Any]:
    return {
        "pk": _pk(conn.id),
        "sk": "CONN",
        "type": "connection",
        "tenant_pk": f"TENANT#{conn.tenant_id}",
        "tenant_sk": f"CONN#{conn.id}",
        **conn.model_dump(mode="json", exclude_none=True),
    }


class ConnectionRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, connection_id: str) -> Connection | None:
        """The connection, or None; ids that cannot be ours (from a URL path) are never looked up."""
        if not plausible_connection_id(connection_id):
            return None
        item = self.table.get(_pk(connection_id), "CONN")
        return Connection.model_validate(item) if item else None

    def list_for_tenant(self, tenant_id: str) -> list[Connection]:
        items = self.table.query(
            IndexName=TENANT_INDEX,
            KeyConditionExpression="tenant_pk = :t AND begins_with(tenant_sk, :p)",
            ExpressionAttributeValues={":t": {"S": f"TENANT#{tenant_id}"}, ":p": {"S": "CONN#"}},
        )
        found = self.table.batch_get([(str(i["pk"]), str(i["sk"])) for i in items])
        return sorted((Connection.model_validate(i) for i in found), key=lambda c: c.created_at)

    def connection_for_domain(self, domain: str) -> Connection | None:
        pointer = self.table.get(f"DOMAIN#{domain}", ROUTING_SK)
        return self.get(str(pointer["connection_id"])) if pointer else None

    def routing_owner(self, domain: str) -> tuple[str, str] | None:
        """(tenant id, connection id) the domain is routed to, or None."""
        pointer = self.table.get(f"DOMAIN#{domain}", ROUTING_SK)
        return (str(pointer["tenant_id"]), str(pointer["connection_id"])) if pointer else None

    def routing_op(self, domain: str, conn: Connection) -> dict[str, Any]:
        """Transaction op: ``domain`` routes to ``conn``. Another tenant's pointer is stale (the caller verified
        the domain, and a domain has one verified owner); the tenant's own other connection keeps it."""
        return {
            "Put": {
                "TableName": self.table.name,
                "Item": serialize(
                    {
                        "pk": f"DOMAIN#{domain}",
                        "sk": ROUTING_SK,
                        "type": "domain_routing",
                        "connection_id": conn.id,
                        "tenant_id": conn.tenant_id,
                    }
                ),
                "ConditionExpression": "attribute_not_exists(pk) OR tenant_id <> :t OR connection_id = :c",
                "ExpressionAttributeValues": {":t": {"S": conn.tenant_id}, ":c": {"S": conn.id}},
            }
        }

    def create(self, conn: Connection, extra_ops: list[dict[str, Any]] | None = None) -> None:
        ops: list[dict[str, Any]] = [
            {
                "Put": {
                    "Item": serialize(_to_item(conn)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        for domain in conn.domains:
            op = self.routing_op(domain, conn)
            op["Put"]["ConditionExpression"] = "attribute_not_exists(pk) OR tenant_id <> :t"
            del op["Put"]["ExpressionAttributeValues"][":c"]
            ops.append(op)
        routing = len(ops)
        ops.extend(extra_ops or [])
        try:
            self.table.transact(ops)
        except ClientError as exc:
            if (
                error_code(exc) == "TransactionCanceledException"
                and "ConditionalCheckFailed" in cancellation_codes(exc)[1:routing]
            ):
                raise DomainHasConnection() from exc
            raise

    def save(
        self, conn: Connection, expected_version: int, extra_ops: list[dict[str, Any]] | None = None
    ) -> Connection:
        saved = conn.model_copy(update={"version": expected_version + 1})
        put = {
            "Put": {
                "Item": serialize(_to_item(saved)),
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": {"N": str(expected_version)}},
            }
        }
        try:
            self.table.transact([put, *(extra_ops or [])])
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                raise ConcurrentChange() from exc
            raise
        return saved
