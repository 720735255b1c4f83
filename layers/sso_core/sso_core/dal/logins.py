"""Single-use login state: AuthnRequest IDs bound to a browser, the assertion replay cache, one-time codes,
and the per-connection login trace.

Items:
- request    pk=AUTHNREQ#<request id>      sk=AUTHNREQ   (10 minutes; consumed by a conditional delete)
- assertion  pk=ASSERTION#<sha256>          sk=ASSERTION  (until NotOnOrAfter plus skew; conditional put)
- code       pk=CODE#<sha256 of the code>   sk=CODE       (60 s; consumed by a conditional delete)
- trace      pk=CONN#<connection id>        sk=LOGIN#<time>#<wall-clock ns>#<reference>
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from sso_core.dal.table import Table, deserialize, error_code, key, serialize

TRACE_RETENTION = timedelta(days=90)


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


@dataclass(frozen=True)
class RedeemedCode:
    payload: dict[str, Any]
    enable_count: int  # the connection's enable period the code was issued in


class RequestUnusable(Exception):
    """The InResponseTo names no usable request: ``reason`` says which way it is foreign."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
                    "created_at": request.created_at.isoformat(),
                    "expires_at": int(request.expires_at.timestamp()),
                    "ttl": int(request.expires_at.timestamp()),
                }
            ),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def check_request(self, request_id: str, connection_id: str, browser_hash: str, now: datetime) -> None:
        """Raise ``RequestUnusable`` if the request was never issued, expired, or was issued for another connection
        or browser, without using anything (a consistent read): the ACS checks this before it burns the assertion
        in the replay cache, so a response posted from the wrong browser leaves the real user's login intact.
        Whether the request was already used is left to ``consume_request``, the single use itself."""
        item = self.table.get(f"AUTHNREQ#{request_id}", "AUTHNREQ")
        if item is None:
            raise RequestUnusable("request_unknown")
        if item.get("connection_id") != connection_id:
            raise RequestUnusable("request_other_connection")
        if item.get("browser_hash") != browser_hash:
            raise RequestUnusable("request_other_browser")
        if int(item.get("expires_at") or 0) <= int(now.timestamp()):
            raise RequestUnusable("request_expired")

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
        self.table.client.put_item(
            TableName=self.table.name,
            Item=serialize(
                {
                    "pk": f"CONN#{connection_id}",
                    # The wall clock's nanoseconds order the entries of one second: newest first holds within
                    # a second too (the trace time itself has whole seconds, like every SAML instant).
                    "sk": f"LOGIN#{entry.time.isoformat()}#{time.time_ns():020d}#{entry.reference}",
                    "type": "login_trace",
                    "time": entry.time.isoformat(),
                    "reference": entry.reference,
                    "result": entry.result,
                    "reason": entry.reason,
                    "detail": entry.detail,
                    "email_domain": entry.email_domain,
                    "ttl": int((entry.time + TRACE_RETENTION).timestamp()),
                }
            ),
        )

    def traces(
        self, connection_id: str, limit: int = 50, after: str | None = None
    ) -> tuple[list[TraceEntry], str | None]:
        """Newest first, ``limit`` a page; ``after`` is the previous page's cursor (opaque and URL-safe)."""
        items, cursor = self.table.newest_first(f"CONN#{connection_id}", "LOGIN#", limit, after)
        return [_trace_entry(i) for i in items], cursor

    def trace_by_reference(self, connection_id: str, reference: str) -> TraceEntry | None:
        """The entry a refusal page showed, however old: the connection's trace is searched newest first (people
        ask about recent failures, so this reads a page or two)."""
        params: dict[str, Any] = {
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
            "FilterExpression": "#r = :r",
            "ExpressionAttributeNames": {"#r": "reference"},
            "ExpressionAttributeValues": serialize({":p": f"CONN#{connection_id}", ":s": "LOGIN#", ":r": reference}),
            "ScanIndexForward": False,
        }
        for item in self.table.query(**params):
            return _trace_entry(item)
        return None


def _trace_entry(item: dict[str, Any]) -> TraceEntry:
    return TraceEntry(
        time=datetime.fromisoformat(str(item["time"])),
        reference=str(item["reference"]),
        result=str(item["result"]),
        reason=str(item["reason"]),
        detail=str(item.get("detail") or ""),
        email_domain=item.get("email_domain"),
    )
