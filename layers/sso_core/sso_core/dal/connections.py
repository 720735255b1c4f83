"""Connections and their uniqueness pointers.

Items:
- connection  pk=CONN#<id> sk=CONN                 (tenant_pk/tenant_sk for the tenant's list)
- routing     pk=DOMAIN#<domain> sk=CONNECTION     (a domain routes to at most one connection)

A connection whose IdP was imported from a metadata URL also carries the sparse ``due_pk``/``due_at`` of the
``due-checks`` index under its own partition (``REFRESH_PARTITION``): the daily refresh reads exactly those
connections, by key, and never scans. Any other import writes the item without them, which drops it from the run.

An IdP entity ID is not unique: several connections, of one tenant or several, may name the same IdP (a
multi-tenant IdP, or one directory serving two organisations). Isolation comes from each connection's own SP
entity ID (the audience), ACS URL and certificates, never from a global claim on the IdP's name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from sso_core.dal.table import (
    DUE_INDEX,
    TENANT_INDEX,
    Table,
    TransactionCancelled,
    TxItem,
    error_code,
    key,
    serialize,
    serialize_values,
)
from sso_core.models.connections import Connection, ConnectionStatus
from sso_core.models.errors import ConcurrentChange, Conflict

ROUTING_SK = "CONNECTION"
REFRESH_PARTITION = "metadata_refresh"
# A day's schedule fires at about the same time each day: due an hour early, a connection is never skipped a day.
REFRESH_EVERY = timedelta(hours=23)


class DomainHasConnection(Conflict):
    code = "domain_has_connection"
    default_message = "One of these domains is already routed to another connection."


ID_PATTERN = re.compile(r"conn_[0-9a-f]{20}")


def plausible_connection_id(connection_id: str) -> bool:
    return ID_PATTERN.fullmatch(connection_id) is not None  # fullmatch: "$" allows a trailing newline


def _pk(connection_id: str) -> str:
    return f"CONN#{connection_id}"


def next_refresh_at(conn: Connection) -> datetime | None:
    """When the daily refresh next reads the connection's metadata URL; None when it was not imported by URL."""
    idp = conn.idp
    if idp is None or idp.source != "metadata_url" or not idp.metadata_url:
        return None
    last = max(t for t in (idp.imported_at, idp.refreshed_at, idp.refresh_failed_at) if t is not None)
    return last + REFRESH_EVERY


def _to_item(conn: Connection) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": _pk(conn.id),
        "sk": "CONN",
        "type": "connection",
        "tenant_pk": f"TENANT#{conn.tenant_id}",
        "tenant_sk": f"CONN#{conn.id}",
        **conn.model_dump(mode="json", exclude_none=True),
    }
    due = next_refresh_at(conn)
    if due is not None:
        item["due_pk"] = REFRESH_PARTITION
        item["due_at"] = int(due.timestamp())
    return item


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

    def due_for_refresh(self, now: datetime, page_size: int = 100) -> Iterator[list[str]]:
        """Ids of the URL-imported connections whose refresh is due, a page at a time (sparse index, no scan)."""
        params: dict[str, Any] = {
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "due_pk = :p AND due_at <= :now",
            "ExpressionAttributeValues": {
                ":p": {"S": REFRESH_PARTITION},
                ":now": {"N": str(int(now.timestamp()))},
            },
            "ProjectionExpression": "pk",
            "Limit": page_size,
        }
        while True:
            items, last = self.table.query_page(**params)
            ids = [str(i["pk"]).removeprefix("CONN#") for i in items]
            if ids:
                yield ids
            if not last:
                return
            params["ExclusiveStartKey"] = last

    def record_refresh_failure(self, conn: Connection, error: str, when: datetime) -> bool:
        """The refresh could not read the metadata: note it (and when to try again) without touching anything
        else of the IdP, and only while the connection still imports from the same URL. False if it no longer
        does (an admin changed the IdP meanwhile: nothing to note)."""
        assert conn.idp is not None and conn.idp.metadata_url
        stamp = when.isoformat()
        try:
            self.table.client.update_item(
                TableName=self.table.name,
                Key=key(_pk(conn.id), "CONN"),
                UpdateExpression="SET idp.refresh_error = :e, idp.refresh_failed_at = :t, due_at = :due",
                ConditionExpression="attribute_exists(pk) AND idp.metadata_url = :u AND idp.#src = :src",
                ExpressionAttributeNames={"#src": "source"},
                ExpressionAttributeValues=serialize_values(
                    {
                        ":e": error,
                        ":t": stamp,
                        ":due": int((when + REFRESH_EVERY).timestamp()),
                        ":u": conn.idp.metadata_url,
                        ":src": "metadata_url",
                    }
                ),
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def delete_ops(self, conn: Connection) -> list[TxItem]:
        """Transaction items that remove the connection (while it is not enabled and still the tenant's) and the
        routing pointers that still name it. Its login trace and pending login state age out by their TTL; the
        refresh marker is part of the connection item."""
        ops: list[TxItem] = [
            (
                "connection",
                {
                    "Delete": {
                        "Key": key(_pk(conn.id), "CONN"),
                        "ConditionExpression": "attribute_exists(pk) AND #s <> :enabled AND tenant_id = :t",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": serialize_values(
                            {":enabled": ConnectionStatus.ENABLED.value, ":t": conn.tenant_id}
                        ),
                    }
                },
            )
        ]
        for domain in conn.domains:
            pointer = self.table.get(f"DOMAIN#{domain}", ROUTING_SK)
            if pointer is None or pointer.get("connection_id") != conn.id:
                continue  # already dropped (domain deleted) or routed elsewhere since
            ops.append(
                (
                    "routing",
                    {
                        "Delete": {
                            "Key": key(f"DOMAIN#{domain}", ROUTING_SK),
                            "ConditionExpression": "connection_id = :c",
                            "ExpressionAttributeValues": {":c": {"S": conn.id}},
                        }
                    },
                )
            )
        return ops

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
