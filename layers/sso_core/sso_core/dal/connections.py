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
from datetime import datetime
from typing import Any

from sso_core.dal.table import TENANT_INDEX, Table, TransactionCancelled, TxItem, key, serialize, serialize_values
from sso_core.models.connections import Connection, ConnectionStatus
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

    def routing_op(self, domain: str, conn: Connection, keep_own: bool = True) -> TxItem:
        """Transaction item: ``domain`` routes to ``conn``. Another tenant's pointer is stale (the caller verified
        the domain, and a domain has one verified owner); the tenant's own other connection keeps it, and with
        ``keep_own`` the pointer may already name ``conn`` (switching it on again rewrites it)."""
        condition = "attribute_not_exists(pk) OR tenant_id <> :t"
        values = {":t": {"S": conn.tenant_id}}
        if keep_own:
            condition += " OR connection_id = :c"
            values[":c"] = {"S": conn.id}
        return (
            "routing",
            {
                "Put": {
                    "Item": serialize(
                        {
                            "pk": f"DOMAIN#{domain}",
                            "sk": ROUTING_SK,
                            "type": "domain_routing",
                            "connection_id": conn.id,
                            "tenant_id": conn.tenant_id,
                        }
                    ),
                    "ConditionExpression": condition,
                    "ExpressionAttributeValues": values,
                }
            },
        )

    def create(self, conn: Connection, extra_ops: list[TxItem] | None = None) -> None:
        ops: list[TxItem] = [
            (
                "connection",
                {
                    "Put": {
                        "Item": serialize(_to_item(conn)),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            )
        ]
        ops.extend(self.routing_op(domain, conn, keep_own=False) for domain in conn.domains)
        ops.extend(extra_ops or [])
        try:
            self.table.transact(ops)
        except TransactionCancelled as exc:
            if exc.failed_on("routing"):
                raise DomainHasConnection() from exc
            raise

    def save(self, conn: Connection, expected_version: int, extra_ops: list[TxItem] | None = None) -> Connection:
        saved = conn.model_copy(update={"version": expected_version + 1})
        put = {
            "Put": {
                "Item": serialize(_to_item(saved)),
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": {"N": str(expected_version)}},
            }
        }
        try:
            self.table.transact([("connection", put), *(extra_ops or [])])
        except TransactionCancelled as exc:
            raise ConcurrentChange() from exc
        return saved

    def record_success(self, connection_id: str, when: datetime) -> None:
        """First and last successful login (the password-login guard needs the first); bumps the version."""
        self.table.client.update_item(
            TableName=self.table.name,
            Key=key(_pk(connection_id), "CONN"),
            UpdateExpression="SET last_success_at = :t, first_success_at = if_not_exists(first_success_at, :t) "
            "ADD version :one",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=serialize({":t": when.isoformat(), ":one": 1}),
        )

    def record_test_success(self, connection_id: str, when: datetime) -> None:
        """The first successful connection test (the password-login guard accepts it as proof that SSO works);
        bumps the version like ``record_success``, so a save that read the connection before cannot undo it."""
        self.table.client.update_item(
            TableName=self.table.name,
            Key=key(_pk(connection_id), "CONN"),
            UpdateExpression="SET test_success_at = if_not_exists(test_success_at, :t) ADD version :one",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=serialize({":t": when.isoformat(), ":one": 1}),
        )

    def status_change_op(self, conn: Connection, target: ConnectionStatus, now: datetime) -> TxItem:
        """Transaction item: the status changes from the one read to ``target``.

        Conditioned on the status, not on the connection's version: every successful login bumps the version
        (``record_success``), and the kill switch must not lose to a stream of logins. An update of these
        attributes only, so a concurrent IdP import is never overwritten. Enabling needs an IdP, and starts a new
        period (``enable_count``): the ACS refuses logins started in an earlier one, so a response refused while
        SSO was off does not become good again when SSO is switched back on.
        """
        condition = "#s = :current AND tenant_id = :tenant"
        if target is ConnectionStatus.ENABLED:
            condition += " AND attribute_exists(idp)"
        updated_at = conn.model_copy(update={"updated_at": now}).model_dump(mode="json")["updated_at"]
        count = ", enable_count :one" if target is ConnectionStatus.ENABLED else ""
        return (
            "connection",
            {
                "Update": {
                    "Key": key(_pk(conn.id), "CONN"),
                    "UpdateExpression": f"SET #s = :target, updated_at = :now ADD version :one{count}",
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": serialize_values(
                        {
                            ":current": conn.status.value,
                            ":target": target.value,
                            ":tenant": conn.tenant_id,
                            ":now": updated_at,
                            ":one": 1,
                        }
                    ),
                }
            },
        )

    @staticmethod
    def not_enabled_check(connection_id: str) -> TxItem:
        """Transaction item: the connection is not enabled when the transaction commits."""
        return (
            "connection_not_enabled",
            {
                "ConditionCheck": {
                    "Key": key(_pk(connection_id), "CONN"),
                    "ConditionExpression": "#s <> :enabled",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":enabled": {"S": ConnectionStatus.ENABLED.value}},
                }
            },
        )

    @staticmethod
    def still_enabled_check(conn: Connection) -> TxItem:
        """Transaction item: the connection is still enabled when the transaction commits."""
        return (
            "connection_still_enabled",
            {
                "ConditionCheck": {
                    "Key": key(_pk(conn.id), "CONN"),
                    "ConditionExpression": "#s = :enabled",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":enabled": {"S": ConnectionStatus.ENABLED.value}},
                }
            },
        )
