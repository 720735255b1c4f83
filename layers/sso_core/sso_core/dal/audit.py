"""Audit entries in the table: pk=TENANT#<t>, sk=AUDIT#<time>#<write ns>#<id>, read newest first.

``time`` is the change's own time (the service clock); the nanoseconds of the write break ties within a second,
so entries written one after the other read back in that order. A change that is a transaction writes its entry
in the same transaction (``put_op``), so no change goes unrecorded.

Operator actions on the deployment itself (the SP signing key's rotation) belong to no tenant: they go to an
operator log, pk=OPERATOR#<log>, with the same entry shape (``put_operator_entry``, ``operator_page``).
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel

from sso_core.clock import utcnow
from sso_core.dal.table import InvalidCursor, Table, TxItem, error_code, serialize
from sso_core.models.audit import Actor, AuditEntry, AuditPage, current_request_id
from sso_core.models.errors import InvalidRequest

RETENTION = timedelta(days=400)


def tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def operator_pk(log: str) -> str:
    return f"OPERATOR#{log}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return json.loads(json.dumps(value, default=str)) if value is not None else None


def _actor_of(actor: Any) -> Actor:
    if isinstance(actor, Actor):
        return actor
    # An authenticated caller (sso_core.models.identity.Caller)
    return Actor("user", getattr(actor, "email", ""), getattr(actor, "role", ""))


class AuditLog:
    def __init__(self, table: Table) -> None:
        self.table = table

    def put_op(
        self,
        tenant_id: str,
        actor: Any,
        action: str,
        target: str,
        before: Any = None,
        after: Any = None,
        when: datetime | None = None,
    ) -> TxItem:
        """A transaction item that writes one entry (the change's own transaction carries it)."""
        when = when or utcnow()
        who = _actor_of(actor)
        entry_id = secrets.token_hex(6)
        sk = f"AUDIT#{sort_time(when)}#{time.time_ns():020d}#{entry_id}"
        item = _entry_item(tenant_pk(tenant_id), sk, entry_id, when, who, action, target, before, after)
        return ("audit", {"Put": {"TableName": self.table.name, "Item": serialize(item)}})

    def put_operator_entry(
        self,
        log: str,
        entry_id: str,
        sequence: int,
        actor: Actor,
        action: str,
        target: str,
        before: Any,
        after: Any,
        when: datetime,
    ) -> bool:
        """Writes one operator entry whose key the caller derives (``entry_id``, ``sequence`` and ``when`` the same
        on a retry), so a retried action records itself once; False when it was recorded already. ``sequence``
        orders the entries of one second, as the write time does in tenants' logs."""
        sk = f"AUDIT#{sort_time(when)}#{sequence:020d}#{entry_id}"
        item = _entry_item(operator_pk(log), sk, entry_id, when, actor, action, target, before, after)
        try:
            self.table.client.put_item(
                TableName=self.table.name, Item=serialize(item), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def operator_page(self, log: str, limit: int = 50, cursor: str | None = None) -> AuditPage:
        return self._page(operator_pk(log), limit, cursor)

    def page(self, tenant_id: str, limit: int = 50, cursor: str | None = None) -> AuditPage:
        return self._page(tenant_pk(tenant_id), limit, cursor)

    def _page(self, pk: str, limit: int, cursor: str | None) -> AuditPage:
        try:
            items, next_cursor = self.table.newest_first(pk, "AUDIT#", limit, cursor)
        except InvalidCursor:
            raise InvalidRequest("The cursor is not valid.") from None
        entries = [
            AuditEntry(
                id=str(i["id"]),
                time=datetime.fromisoformat(str(i["time"])),
                actor=dict(i["actor"]),
                action=str(i["action"]),
                target=str(i["target"]),
                before=json.loads(str(i.get("before") or "null")),
                after=json.loads(str(i.get("after") or "null")),
                request_id=str(i.get("request_id") or ""),
            )
            for i in items
        ]
        return AuditPage(entries=entries, next_cursor=next_cursor)


def sort_time(when: datetime) -> str:
    """Fixed width, UTC, to the microsecond: sorts as text in time order (``isoformat`` varies in width)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _entry_item(
    pk: str, sk: str, entry_id: str, when: datetime, actor: Actor, action: str, target: str, before: Any, after: Any
) -> dict[str, Any]:
    """One audit entry as stored, in a tenant's log or an operator's (only the key differs)."""
    return {
        "pk": pk,
        "sk": sk,
        "type": "audit",
        "id": entry_id,
        "time": when.isoformat(),
        "actor": {"kind": actor.kind, "email": actor.email, "role": actor.role},
        "action": action,
        "target": target,
        "before": json.dumps(_jsonable(before)),
        "after": json.dumps(_jsonable(after)),
        "request_id": current_request_id.get(),
        "ttl": int((when + RETENTION).timestamp()),
    }
