"""The audit log's vocabulary: who acted (``Actor``), what an entry says, a page of entries, and the request id.

The request id is API Gateway's ``requestContext.requestId``, bound by the HTTP edge for every request, public or
not; it is empty for changes no request made (the scheduled DNS check).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

# Set by the HTTP edge for each request (API Gateway's request id), read when an entry is written.
current_request_id: ContextVar[str] = ContextVar("current_request_id", default="")


@dataclass(frozen=True)
class Actor:
    kind: str  # "user" | "system" | "public" (an invitee accepting by link) | "support" (the operator function)
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
