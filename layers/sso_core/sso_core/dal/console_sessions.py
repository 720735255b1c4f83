"""Console sessions and the sign-in state of the console's OpenID Connect login (backend-for-frontend).

Items (the browser only ever holds the random id; the table holds its SHA-256):
- session   pk=CONSOLESESSION#<sha256 of the id>  sk=SESSION   (ttl: the absolute expiry)
- sign-in   pk=CONSOLELOGIN#<sha256 of the state>  sk=LOGIN     (10 minutes; consumed by a conditional delete)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from sso_core.dal.table import Table, error_code, key, serialize


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class ConsoleSession:
    tenant_id: str
    email: str
    role: str
    accounts: tuple[str, ...]
    csrf_token: str
    created_at: datetime
    last_seen: datetime
    absolute_expiry: datetime


@dataclass(frozen=True)
class PendingSignIn:
    code_verifier: str
    nonce: str
    next_path: str
    expires_at: datetime
    browser_hash: str = ""  # SHA-256 of the secret in the browser's sign-in cookie


class ConsoleSessionStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    # ---- sessions ----------------------------------------------------------------------------------------
    def put(self, session_id: str, session: ConsoleSession) -> None:
        item = {
            **key(f"CONSOLESESSION#{sha256(session_id)}", "SESSION"),
            **serialize(
                {
                    "tenant_id": session.tenant_id,
                    "email": session.email,
                    "role": session.role,
                    "accounts": list(session.accounts),
                    "csrf_token": session.csrf_token,
                    "created_at": session.created_at.isoformat(),
                    "last_seen": session.last_seen.isoformat(),
                    "absolute_expiry": session.absolute_expiry.isoformat(),
                    "ttl": int(session.absolute_expiry.timestamp()),
                }
            ),
        }
        self.table.client.put_item(TableName=self.table.name, Item=item)

    def get(self, session_id: str) -> ConsoleSession | None:
        item = self.table.get(f"CONSOLESESSION#{sha256(session_id)}", "SESSION")
        if item is None:
            return None
        return ConsoleSession(
            tenant_id=str(item["tenant_id"]),
            email=str(item["email"]),
            role=str(item["role"]),
            accounts=tuple(str(a) for a in item.get("accounts") or ()),
            csrf_token=str(item["csrf_token"]),
            created_at=datetime.fromisoformat(str(item["created_at"])),
            last_seen=datetime.fromisoformat(str(item["last_seen"])),
            absolute_expiry=datetime.fromisoformat(str(item["absolute_expiry"])),
        )

    def touch(self, session_id: str, now: datetime) -> None:
        """Record activity (the idle clock restarts); a session deleted meanwhile stays deleted."""
        try:
            self.table.client.update_item(
                TableName=self.table.name,
                Key=key(f"CONSOLESESSION#{sha256(session_id)}", "SESSION"),
                UpdateExpression="SET last_seen = :now",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=serialize({":now": now.isoformat()}),
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

    def delete(self, session_id: str) -> None:
        self.table.client.delete_item(
            TableName=self.table.name, Key=key(f"CONSOLESESSION#{sha256(session_id)}", "SESSION")
        )

    # ---- sign-in state (state -> PKCE verifier, nonce, where to go back) ----------------------------------
    def put_sign_in(self, state: str, pending: PendingSignIn) -> None:
        item = {
            **key(f"CONSOLELOGIN#{sha256(state)}", "LOGIN"),
            **serialize(
                {
                    "code_verifier": pending.code_verifier,
                    "nonce": pending.nonce,
                    "next_path": pending.next_path,
                    "browser_hash": pending.browser_hash,
                    "expires_at": pending.expires_at.isoformat(),
                    "ttl": int(pending.expires_at.timestamp()),
                }
            ),
        }
        self.table.client.put_item(TableName=self.table.name, Item=item)

    def take_sign_in(self, state: str) -> PendingSignIn | None:
        """The sign-in started with ``state``, consumed: a second callback with the same state finds nothing."""
        try:
            resp: dict[str, Any] = self.table.client.delete_item(
                TableName=self.table.name,
                Key=key(f"CONSOLELOGIN#{sha256(state)}", "LOGIN"),
                ConditionExpression="attribute_exists(pk)",
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        old = resp.get("Attributes") or {}
        return PendingSignIn(
            code_verifier=old["code_verifier"]["S"],
            nonce=old["nonce"]["S"],
            next_path=old["next_path"]["S"],
            expires_at=datetime.fromisoformat(old["expires_at"]["S"]),
            browser_hash=old.get("browser_hash", {}).get("S", ""),
        )
