"""The audit log: every change to security settings, with who, when, what, before and after, and request id.

Entries live under the tenant (pk=TENANT#<t>, sk=AUDIT#<time>#<write ns>#<id>) and are read newest first.
``time`` is the change's own time (the service clock, whole seconds); the nanoseconds of the write break ties
within a second, so entries written one after the other read back in that order. Where a change is a
transaction, its entry is written in the same transaction (``put_op``), so no change goes unrecorded.

The request id is API Gateway's ``requestContext.requestId``, bound for every request, public or not, by the
resolver (``api.create_resolver``); it is empty for changes no request made (the scheduled DNS check).
"""

from __future__ import annotations

import json
import secrets
import time
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from .clock import utcnow
from .dal.table import InvalidCursor, Table, serialize
from .errors import InvalidRequest

RETENTION = timedelta(days=400)

# Set by the HTTP edge for each request (API Gateway's request id), read when an entry is written.
current_request_id: ContextVar[str] = ContextVar("current_request_id", default="")


@dataclass(frozen=True)
class Actor:
    kind: str  # "user" | "system" | "public" (an invitee accepting by link)
    email: str = ""
    role: str = ""

    @classmethod
    def system(cls, name: str = "scheduler") -> Actor:
        return cls("system", name)


class AuditEntry(BaseModel):
    id: str
    time: datetime
    actor: dict[str, str]
    action: str
    target: str
    before: Any = None
    after: Any = None
    request_id: str = ""


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    next_cursor: str | None = None


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return json.loads(json.dumps(value, default=str)) if value is not None else None


def _actor_of(actor: Any) -> Actor:
    if isinstance(actor, Actor):
        return actor
    # An authenticated caller (sso_core.api.Caller)
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
    ) -> dict[str, Any]:
        when = when or utcnow()
        who = _actor_of(actor)
        entry_id = secrets.token_hex(6)
        item = {
            "pk": f"TENANT#{tenant_id}",
            "sk": f"AUDIT#{sort_time(when)}#{time.time_ns():020d}#{entry_id}",
            "type": "audit",
            "id": entry_id,
            "time": when.isoformat(),
            "actor": {"kind": who.kind, "email": who.email, "role": who.role},
            "action": action,
            "target": target,
            "before": json.dumps(_jsonable(before)),
            "after": json.dumps(_jsonable(after)),
            "request_id": current_request_id.get(),
            "ttl": int((when + RETENTION).timestamp()),
        }
        return {"Put": {"TableName": self.table.name, "Item": serialize(item)}}

    def record(
        self, tenant_id: str, actor: Any, action: str, target: str, before: Any = None, after: Any = None
    ) -> None:
        op = self.put_op(tenant_id, actor, action, target, before, after)["Put"]
        self.table.client.put_item(**op)

    def page(self, tenant_id: str, limit: int = 50, cursor: str | None = None) -> AuditPage:
        try:
            items, next_cursor = self.table.newest_first(f"TENANT#{tenant_id}", "AUDIT#", limit, cursor)
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
