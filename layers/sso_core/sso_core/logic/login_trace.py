"""The login trace (owner): recent SSO logins of a connection, or the one behind a failure page's reference.

Each entry says, in the administrator's words, what happened and what to change (``models.login_outcomes``).
"""

from __future__ import annotations

from pydantic import BaseModel

from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.logins import LoginStateRepository, TraceEntry
from sso_core.dal.table import InvalidCursor, Table
from sso_core.logic.sso_gate import require_sso_access
from sso_core.logic.tenant_scope import tenant_connection
from sso_core.models.errors import InvalidRequest
from sso_core.models.identity import Caller
from sso_core.models.idp_errors import explain
from sso_core.models.login_outcomes import LOGIN_WARNINGS, LoginWarning, describe


class TraceWarning(BaseModel):
    code: str
    explanation: str


class IdpStatusLine(BaseModel):
    """The IdP's error status (status_not_success): the codes it sent and what they mean."""

    code: str
    second_code: str | None = None
    aadsts: str | None = None  # Entra's error number, the only part of the StatusMessage kept
    guidance: list[dict[str, str]] = []  # [{"code", "sentence", "fix"}], most specific first


class TraceLine(BaseModel):
    time: str
    reference: str
    result: str
    reason: str
    detail: str
    email_domain: str | None = None
    explanation: str = ""  # the refusal's sentence; empty for a success
    fix: str = ""
    test: bool = False  # a connection test (POST /connections/{id}/test), not a sign-in
    started_by: str | None = None  # a test: the email of the administrator who started it
    idp_status: IdpStatusLine | None = None
    warnings: list[TraceWarning] = []  # a login that succeeded but should not go on this way
    # The certificate the response was signed with when it matters (unknown_certificate, an expired signer):
    # sha256_fingerprint, subject, not_before, not_after. Parsed for display, never trusted.
    certificate: dict[str, str] | None = None


class TracePage(BaseModel):
    logins: list[TraceLine]
    next_cursor: str | None = None


def _warning_sentence(code: str) -> str:
    try:
        return LOGIN_WARNINGS[LoginWarning(code)]
    except (ValueError, KeyError):
        return ""


def _line(entry: TraceEntry) -> TraceLine:
    info = describe(entry.reason)
    idp = None
    if entry.idp_status is not None:
        status = entry.idp_status
        guidance = [{"code": g.code, "sentence": g.sentence, "fix": g.fix} for g in explain(status)]
        idp = IdpStatusLine(code=status.code, second_code=status.second_code, aadsts=status.aadsts, guidance=guidance)
    return TraceLine(
        time=entry.time.isoformat(),
        reference=entry.reference,
        result=entry.result,
        reason=entry.reason,
        detail=entry.detail,
        email_domain=entry.email_domain,
        explanation=info.sentence if info else "",
        fix=info.fix if info else "",
        test=entry.test_by is not None,
        started_by=entry.test_by,
        idp_status=idp,
        warnings=[TraceWarning(code=w, explanation=_warning_sentence(w)) for w in entry.warnings],
        certificate=entry.certificate,
    )


def read_trace(
    table: Table, caller: Caller, connection_id: str, limit: int, cursor: str | None, reference: str | None
) -> TracePage:
    """A page of the caller's tenant's connection's trace, newest first; with ``reference``, only that entry
    (however old, no paging). Another tenant's connection is as absent as an unknown one."""
    require_sso_access(table, caller.tenant_id)
    conn = tenant_connection(ConnectionRepository(table), caller, connection_id)
    repo = LoginStateRepository(table)
    if reference is not None:
        found = repo.trace_by_reference(conn.id, reference)
        return TracePage(logins=[_line(found)] if found else [])
    try:
        entries, next_cursor = repo.traces(conn.id, limit=limit, after=cursor)
    except InvalidCursor:
        raise InvalidRequest("cursor must be the next_cursor of a previous page.") from None
    return TracePage(logins=[_line(e) for e in entries], next_cursor=next_cursor)
