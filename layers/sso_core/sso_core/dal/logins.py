"""Single-use login state: AuthnRequest IDs bound to a browser, the assertion replay cache, one-time codes,
and the per-connection login trace.

Items:
- request    pk=AUTHNREQ#<request id>      sk=AUTHNREQ   (10 minutes; consumed by a conditional delete)
- assertion  pk=ASSERTION#<sha256>          sk=ASSERTION  (until NotOnOrAfter plus skew; conditional put)
- code       pk=CODE#<sha256 of the code>   sk=CODE       (60 s; consumed by a conditional delete)
- test start pk=TESTSTART#<sha256 of token> sk=TESTSTART  (5 minutes; the connection test's single-use link,
             consumed by a conditional delete; names the administrator who asked)
- trace      pk=CONN#<connection id>        sk=LOGIN#<time>#<wall-clock ns>#<reference>
             and the same entry under  pk=LOGINREF#<reference>  sk=LOGINREF  (the lookup by reference: one GetItem)
- counter    pk=CONN#<connection id>        sk=LOGIN#<hour>#AGG#<reason>   (junk refusals: one item per hour and
             reason, with a count, the first and the last reference; the reference encodes hour and reason)

Junk is what anyone can post without a signature that verifies (``AGGREGATED_REASONS``): one item each would
let a flood of it bury the real failures and grow the partition without bound.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from sso_core.dal.table import Table, TxItem, deserialize, error_code, key, serialize
from sso_core.models.idp_errors import IdpStatus
from sso_core.models.login_outcomes import Refusal

TRACE_RETENTION = timedelta(days=90)

# Refusals decided before any signature has verified (and before the message is read at all): counted per
# connection, reason and hour. The order is part of the reference format (a reason's index is in the reference):
# append only.
AGGREGATED_REASONS = (
    "too_large",
    "malformed",
    "doctype_forbidden",
    "status_not_success",
    "assertion_count",
    "wrapped_signature",
    "unsigned",
    "weak_algorithm",
    "unsupported_algorithm",
    "signature_invalid",
    "unknown_certificate",
    "connection_disabled",
    "idp_incomplete",
)
_AGGREGATE_MARK = "F"  # first hex digit of a counted refusal's reference; individual references never start so
_HOUR = 3600


def individual_reference() -> str:
    """``SSO-XXXX-XXXX-XXXX`` (hex), random, never starting with the counted refusals' mark."""
    raw = format(secrets.randbelow(15), "X") + secrets.token_hex(6).upper()[1:]
    return f"SSO-{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def aggregate_reference(reason: str, when: datetime) -> str:
    """The reference of a counted refusal: mark, hour (6 hex digits), reason index (1), random (4)."""
    hour = int(when.timestamp()) // _HOUR
    raw = f"{_AGGREGATE_MARK}{hour:06X}{AGGREGATED_REASONS.index(reason):X}{secrets.token_hex(2).upper()}"
    return f"SSO-{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _aggregate_key(reference: str) -> tuple[datetime, str] | None:
    """(hour, reason) a counted refusal's reference names, or None (an individual or foreign reference)."""
    raw = reference.removeprefix("SSO-").replace("-", "")
    if len(raw) != 12 or not raw.startswith(_AGGREGATE_MARK):
        return None
    try:
        hour, index = int(raw[1:7], 16), int(raw[7], 16)
    except ValueError:
        return None
    if index >= len(AGGREGATED_REASONS):
        return None
    return datetime.fromtimestamp(hour * _HOUR, tz=UTC), AGGREGATED_REASONS[index]


def _aggregate_sk(hour: datetime, reason: str) -> str:
    return f"LOGIN#{hour.isoformat()}#AGG#{reason}"


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class StoredRequest:
    request_id: str
    connection_id: str
    browser_hash: str
    return_to: str
    created_at: datetime
    expires_at: datetime
    enable_count: int = 0  # the connection's enable period the login started in
    # A connection test: who asked for it ({"tenant_id", "email", "role"}); None for a real sign-in.
    test_by: dict[str, str] | None = None


@dataclass(frozen=True)
class ConnectionTestStart:
    """A connection test's single-use link, as stored: the connection and the administrator who asked."""

    connection_id: str
    tenant_id: str
    email: str
    role: str


@dataclass(frozen=True)
class RedeemedCode:
    payload: dict[str, Any]
    enable_count: int  # the connection's enable period the code was issued in


class RequestUnusable(Exception):
    """The InResponseTo names no usable request: ``reason`` says which way it is foreign."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = Refusal(reason)  # one vocabulary: an unnamed code fails here


class AlreadyUsed(Exception):
    pass


@dataclass(frozen=True)
class TraceEntry:
    time: datetime
    reference: str
    result: str  # "success" or the refusal reason
    reason: str
    detail: str
    email_domain: str | None = None
    test_by: str | None = None  # a connection test: the email of the administrator who started it
    idp_status: IdpStatus | None = None  # status_not_success: the codes the IdP sent
    warnings: tuple[str, ...] = ()  # ``LoginWarning`` codes of a login that succeeded
    # A certificate worth naming, for display only: the unknown one an IdP signed with, or an expired signer.
    certificate: dict[str, str] | None = None


def _idp_status_item(status: IdpStatus | None) -> dict[str, str] | None:
    if status is None:
        return None
    item = {"code": status.code, "second_code": status.second_code, "aadsts": status.aadsts}
    return {k: v for k, v in item.items() if v}


def _idp_status(item: Any) -> IdpStatus | None:
    if not isinstance(item, dict) or not item.get("code"):
        return None
    return IdpStatus(str(item["code"]), item.get("second_code"), item.get("aadsts"))


class LoginStateRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    # ---- AuthnRequests ------------------------------------------------------------------------
    def save_request(self, request: StoredRequest) -> None:
        self.table.client.put_item(
            TableName=self.table.name,
            Item=serialize(
                {
                    "pk": f"AUTHNREQ#{request.request_id}",
                    "sk": "AUTHNREQ",
                    "type": "authn_request",
                    "connection_id": request.connection_id,
                    "browser_hash": request.browser_hash,
                    "return_to": request.return_to,
                    "enable_count": request.enable_count,
                    **({"test_by": request.test_by} if request.test_by else {}),
                    "created_at": request.created_at.isoformat(),
                    "expires_at": int(request.expires_at.timestamp()),
                    "ttl": int(request.expires_at.timestamp()),
                }
            ),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def check_request(self, request_id: str, connection_id: str, browser_hash: str, now: datetime) -> bool:
        """Raise ``RequestUnusable`` if the request was never issued, expired, or was issued for another connection
        or browser, without using anything (a consistent read): the ACS checks this before it burns the assertion
        in the replay cache, so a response posted from the wrong browser leaves the real user's login intact.
        Whether the request was already used is left to ``consume_request``, the single use itself."""
        item = self.table.get(f"AUTHNREQ#{request_id}", "AUTHNREQ")
        if item is None:
            raise RequestUnusable("request_unknown")
        if item.get("connection_id") != connection_id:
            raise RequestUnusable("request_other_connection")
        if item.get("used_by"):
            # Already used: nobody's login can succeed with it any more, so burning the assertion harms no one,
            # and a replayed response (its cookie expired at the first use) is reported as ``replayed``.
            return bool(item.get("test_by"))
        if item.get("browser_hash") != browser_hash:
            raise RequestUnusable("request_other_browser")
        if int(item.get("expires_at") or 0) <= int(now.timestamp()):
            raise RequestUnusable("request_expired")
        return bool(item.get("test_by"))  # True: a connection test (the caller decides what that allows)

    def test_request(self, request_id: str, connection_id: str, browser_hash: str) -> dict[str, str] | None:
        """Who started the connection test ``request_id``, if it is one, for this connection, started in the
        browser that holds ``browser_hash``; None otherwise. Used or expired alike: it only decides which page
        a refused test shows, and only to the browser that started it."""
        item = self.table.get(f"AUTHNREQ#{request_id}", "AUTHNREQ")
        if item is None or not item.get("test_by"):
            return None
        if item.get("connection_id") != connection_id or item.get("browser_hash") != browser_hash:
            return None
        return {str(k): str(v) for k, v in dict(item["test_by"]).items()}

    def consume_request(self, request_id: str, connection_id: str, browser_hash: str, now: datetime) -> StoredRequest:
        """Use the request once, from the browser and for the connection it was issued to.

        Marked used (``used_by``, this call's own token) rather than deleted: if the SDK retries a write that
        succeeded but whose answer was lost, the retry finds its own mark and succeeds instead of calling the
        legitimate login a reuse. Nothing personal is kept; TTL removes the item.
        """
        mine = secrets.token_hex(16)
        try:
            resp = self.table.client.update_item(
                TableName=self.table.name,
                Key=key(f"AUTHNREQ#{request_id}", "AUTHNREQ"),
                UpdateExpression="SET used_by = :me",
                ConditionExpression=(
                    "attribute_exists(pk) AND connection_id = :c AND browser_hash = :b AND expires_at > :now "
                    "AND (attribute_not_exists(used_by) OR used_by = :me)"
                ),
                ExpressionAttributeValues=serialize(
                    {":c": connection_id, ":b": browser_hash, ":now": int(now.timestamp()), ":me": mine}
                ),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            old = exc.response.get("Item")
            if not old:
                raise RequestUnusable("request_unknown") from None  # never issued, or gone after expiry
            item = deserialize(old)
            if item.get("used_by"):
                raise RequestUnusable("request_unknown") from None  # already used
            if item.get("connection_id") != connection_id:
                raise RequestUnusable("request_other_connection") from None
            if item.get("browser_hash") != browser_hash:
                raise RequestUnusable("request_other_browser") from None
            raise RequestUnusable("request_expired") from None
        item = deserialize(resp["Attributes"])
        return StoredRequest(
            request_id=request_id,
            connection_id=str(item["connection_id"]),
            browser_hash=str(item["browser_hash"]),
            return_to=str(item.get("return_to") or "/"),
            created_at=datetime.fromisoformat(str(item["created_at"])),
            expires_at=datetime.fromtimestamp(int(item["expires_at"]), tz=now.tzinfo),
            enable_count=int(item.get("enable_count") or 0),
            test_by={str(k): str(v) for k, v in dict(item["test_by"]).items()} if item.get("test_by") else None,
        )

    # ---- connection tests ----------------------------------------------------------------------
    @staticmethod
    def test_start_op(token: str, start: ConnectionTestStart, expires_at: datetime) -> TxItem:
        """Transaction item: the single-use link of a connection test (only the token's hash is stored)."""
        item = {
            "pk": f"TESTSTART#{sha256(token)}",
            "sk": "TESTSTART",
            "type": "connection_test_start",
            "connection_id": start.connection_id,
            "tenant_id": start.tenant_id,
            "email": start.email,
            "role": start.role,
            "expires_at": int(expires_at.timestamp()),
            "ttl": int(expires_at.timestamp()),
        }
        return ("test_start", {"Put": {"Item": serialize(item), "ConditionExpression": "attribute_not_exists(pk)"}})

    def take_test_start(self, token: str, connection_id: str, now: datetime) -> ConnectionTestStart | None:
        """Use the link once (a conditional delete): its test start if unexpired and for ``connection_id``;
        None for every failure alike (unknown, used, expired, another connection's)."""
        try:
            resp = self.table.client.delete_item(
                TableName=self.table.name,
                Key=key(f"TESTSTART#{sha256(token)}", "TESTSTART"),
                ConditionExpression="attribute_exists(pk) AND expires_at > :now AND connection_id = :c",
                ExpressionAttributeValues=serialize({":now": int(now.timestamp()), ":c": connection_id}),
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        item = deserialize(resp["Attributes"])
        return ConnectionTestStart(
            str(item["connection_id"]), str(item["tenant_id"]), str(item["email"]), str(item["role"])
        )

    # ---- replay cache ---------------------------------------------------------------------------
    def remember_assertion(self, issuer: str, assertion_id: str, keep_until: datetime) -> None:
        """Record the assertion as used; ``AlreadyUsed`` if it was (the conditional put is the single use).

        The item carries this call's own token, so an SDK retry of a put that succeeded is not taken for a replay.
        """
        mine = secrets.token_hex(16)
        try:
            self.table.client.put_item(
                TableName=self.table.name,
                Item=serialize(
                    {
                        "pk": "ASSERTION#" + sha256(f"{issuer}\n{assertion_id}"),
                        "sk": "ASSERTION",
                        "type": "assertion_seen",
                        "used_by": mine,
                        "ttl": int(keep_until.timestamp()) + 1,
                    }
                ),
                ConditionExpression="attribute_not_exists(pk) OR used_by = :me",
                ExpressionAttributeValues=serialize({":me": mine}),
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise AlreadyUsed from None
            raise

    # ---- one-time codes ------------------------------------------------------------------------
    def save_code(self, code: str, payload: dict[str, Any], expires_at: datetime, enable_count: int = 0) -> None:
        """Store the code's payload with the connection's enable period it was issued in (``enable_count``)."""
        self.table.client.put_item(
            TableName=self.table.name,
            Item=serialize(
                {
                    "pk": f"CODE#{sha256(code)}",
                    "sk": "CODE",
                    "type": "login_code",
                    "payload": json.dumps(payload),
                    "enable_count": enable_count,
                    "expires_at": int(expires_at.timestamp()),
                    "ttl": int(expires_at.timestamp()),
                }
            ),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def redeem_code(self, code: str, now: datetime) -> RedeemedCode | None:
        """The payload of an unexpired, unused code, removing it; None otherwise (same for every failure)."""
        try:
            resp = self.table.client.delete_item(
                TableName=self.table.name,
                Key=key(f"CODE#{sha256(code)}", "CODE"),
                ConditionExpression="attribute_exists(pk) AND expires_at > :now",
                ExpressionAttributeValues=serialize({":now": int(now.timestamp())}),
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        item = deserialize(resp["Attributes"])
        payload: dict[str, Any] = json.loads(item["payload"])
        return RedeemedCode(payload, int(item.get("enable_count") or 0))

    # ---- trace ------------------------------------------------------------------------------------
    def record_trace(self, connection_id: str, entry: TraceEntry) -> None:
        """One entry, in the connection's list and under its reference (both or neither)."""
        body: dict[str, Any] = {
            "type": "login_trace",
            "connection_id": connection_id,
            "time": entry.time.isoformat(),
            "reference": entry.reference,
            "result": entry.result,
            "reason": entry.reason,
            "detail": entry.detail,
            "email_domain": entry.email_domain,
            "warnings": list(entry.warnings) or None,
            "certificate": entry.certificate,
            "ttl": int((entry.time + TRACE_RETENTION).timestamp()),
        }
        if entry.test_by:
            body["test_by"] = entry.test_by
        if entry.idp_status is not None:
            body["idp_status"] = _idp_status_item(entry.idp_status)
        # The wall clock's nanoseconds order the entries of one second: newest first holds within a second too
        # (the trace time itself has whole seconds, like every SAML instant).
        listed = {"pk": f"CONN#{connection_id}", "sk": f"LOGIN#{entry.time.isoformat()}#{time.time_ns():020d}"}
        listed["sk"] += f"#{entry.reference}"
        by_reference = {"pk": f"LOGINREF#{entry.reference}", "sk": "LOGINREF", **body, "type": "login_trace_ref"}
        self.table.transact(
            [
                ("trace_entry", {"Put": {"Item": serialize({**listed, **body})}}),
                ("trace_by_reference", {"Put": {"Item": serialize(by_reference)}}),
            ]
        )

    def count_refusal(self, connection_id: str, entry: TraceEntry) -> None:
        """A junk refusal (``AGGREGATED_REASONS``, reference from ``aggregate_reference``): one counter per
        connection, reason and hour, keeping the first and the last reference and time and the last detail."""
        located = _aggregate_key(entry.reference)
        if located is None:
            raise ValueError("not a counted refusal's reference")
        hour, reason = located
        values: dict[str, Any] = {
            ":type": "login_trace_aggregate",
            ":time": entry.time.isoformat(),
            ":ref": entry.reference,
            ":reason": reason,
            ":detail": entry.detail,
            ":ttl": int((entry.time + TRACE_RETENTION).timestamp()),
            ":one": 1,
        }
        names = {
            "#type": "type",
            "#time": "time",
            "#ref": "reference",
            "#result": "result",
            "#reason": "reason",
            "#detail": "detail",
            "#first_time": "first_time",
            "#first_ref": "first_reference",
            "#ttl": "ttl",
            "#count": "count",
        }
        extra = ""
        if entry.certificate:  # the last certificate seen (an unknown one the IdP signed with)
            names["#cert"] = "certificate"
            values[":cert"] = entry.certificate
            extra += ", #cert = :cert"
        if entry.idp_status is not None:  # the last one's codes, like the detail
            names["#idp"] = "idp_status"
            values[":idp"] = _idp_status_item(entry.idp_status)
            extra += ", #idp = :idp"
        self.table.client.update_item(
            TableName=self.table.name,
            Key=key(f"CONN#{connection_id}", _aggregate_sk(hour, reason)),
            UpdateExpression=(
                "SET #type = :type, #time = :time, #ref = :ref, #result = :reason, #reason = :reason, "
                "#detail = :detail, #first_time = if_not_exists(#first_time, :time), "
                f"#first_ref = if_not_exists(#first_ref, :ref), #ttl = :ttl{extra} ADD #count :one"
            ),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=serialize(values),
        )

    def traces(
        self, connection_id: str, limit: int = 50, after: str | None = None
    ) -> tuple[list[TraceEntry], str | None]:
        """Newest first, ``limit`` a page; ``after`` is the previous page's cursor (opaque and URL-safe)."""
        items, cursor = self.table.newest_first(f"CONN#{connection_id}", "LOGIN#", limit, after)
        # A counter sits at its hour's start in the key order; within a page, the last activity comes first.
        entries = sorted((_trace_entry(i) for i in items), key=lambda e: e.time, reverse=True)
        return entries, cursor

    def trace_by_reference(self, connection_id: str, reference: str) -> TraceEntry | None:
        """The entry a refusal page showed, however old, with one GetItem: a counted refusal's reference names
        its counter's key; any other is stored under its own key. Another connection's reference is None."""
        located = _aggregate_key(reference)
        if located is not None:
            item = self.table.get(f"CONN#{connection_id}", _aggregate_sk(*located))
            if item is None:
                return None
            found = _trace_entry(item)
            return TraceEntry(
                found.time,
                reference,
                found.result,
                found.reason,
                found.detail,
                found.email_domain,
                found.test_by,
                found.idp_status,
                found.warnings,
                found.certificate,
            )
        item = self.table.get(f"LOGINREF#{reference}", "LOGINREF")
        if item is None or item.get("connection_id") != connection_id:
            return None
        return _trace_entry(item)


def _trace_entry(item: dict[str, Any]) -> TraceEntry:
    detail = str(item.get("detail") or "")
    if item.get("type") == "login_trace_aggregate":
        detail = (
            f"{detail} ({int(item.get('count') or 0)} refusals for this reason in this hour, the first at "
            f"{item.get('first_time')} with reference {item.get('first_reference')})"
        )
    return TraceEntry(
        time=datetime.fromisoformat(str(item["time"])),
        reference=str(item["reference"]),
        result=str(item["result"]),
        reason=str(item["reason"]),
        detail=detail,
        email_domain=item.get("email_domain"),
        test_by=item.get("test_by"),
        idp_status=_idp_status(item.get("idp_status")),
        warnings=tuple(str(w) for w in item.get("warnings") or ()),
        certificate=_certificate(item.get("certificate")),
    )


def _certificate(value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict):
        return None
    return {str(k): str(v) for k, v in value.items()}
