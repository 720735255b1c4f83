"""Memberships and their per-tenant email uniqueness pointer, in the single table.

Items:
- membership     pk=TENANT#<t> sk=USER#<user_id>       (the user record of one tenant)
- email pointer  pk=TENANT#<t> sk=USEREMAIL#<email>    (user_id; one membership per email and tenant)

A membership is only ever created by accepting an invitation (``dal.invitations``), together with its
pointer in one transaction; removal deletes both in one transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from sso_core.dal.table import (
    Table,
    TransactionCancelled,
    TxItem,
    collect_page,
    error_code,
    key,
    serialize,
    serialize_values,
)
from sso_core.models.errors import ConcurrentChange
from sso_core.models.users import Membership


def tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def user_sk(user_id: str) -> str:
    return f"USER#{user_id}"


def user_email_sk(email: str) -> str:
    return f"USEREMAIL#{email}"


def _to_item(m: Membership) -> dict[str, Any]:
    return {"pk": tenant_pk(m.tenant_id), "sk": user_sk(m.user_id), "type": "membership", **m.model_dump(mode="json")}


def _from_item(item: dict[str, Any]) -> Membership:
    return Membership.model_validate(item)


def create_ops(m: Membership) -> list[TxItem]:
    """Transaction items that create ``m`` and claim its email; "member_email_pointer" fails if the email is a
    member already."""
    return [
        ("membership", {"Put": {"Item": serialize(_to_item(m)), "ConditionExpression": "attribute_not_exists(pk)"}}),
        (
            "member_email_pointer",
            {
                "Put": {
                    "Item": serialize(
                        {
                            "pk": tenant_pk(m.tenant_id),
                            "sk": user_email_sk(m.email),
                            "type": "membership_email",
                            "user_id": m.user_id,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ),
    ]


def still_owner_check(member: Membership) -> TxItem:
    """Transaction item: ``member`` is still an active owner when the transaction commits."""
    return (
        "still_owner",
        {
            "ConditionCheck": {
                "Key": key(tenant_pk(member.tenant_id), user_sk(member.user_id)),
                "ConditionExpression": "#role = :owner AND #status = :active",
                "ExpressionAttributeNames": {"#role": "role", "#status": "status"},
                "ExpressionAttributeValues": serialize_values({":owner": "owner", ":active": "active"}),
            }
        },
    )


def no_member_check_op(tenant_id: str, email: str) -> dict[str, Any]:
    """Transaction op that fails when ``email`` already has a membership in the tenant."""
    return {
        "ConditionCheck": {
            "Key": key(tenant_pk(tenant_id), user_email_sk(email)),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


class MembershipRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    # ---- reads ----------------------------------------------------------------------------
    def get(self, tenant_id: str, user_id: str) -> Membership | None:
        item = self.table.get(tenant_pk(tenant_id), user_sk(user_id))
        return _from_item(item) if item else None

    def user_id_for_email(self, tenant_id: str, email: str) -> str | None:
        item = self.table.get(tenant_pk(tenant_id), user_email_sk(email))
        return str(item["user_id"]) if item else None

    def by_email(self, tenant_id: str, email: str) -> Membership | None:
        user_id = self.user_id_for_email(tenant_id, email)
        return self.get(tenant_id, user_id) if user_id else None

    def list_for_tenant(self, tenant_id: str) -> list[Membership]:
        items = self.table.query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
            ExpressionAttributeValues={":pk": {"S": tenant_pk(tenant_id)}, ":p": {"S": "USER#"}},
            ConsistentRead=True,
        )
        return sorted((_from_item(i) for i in items), key=lambda m: (m.email, m.user_id))

    def page(self, tenant_id: str, limit: int, cursor: str | None) -> tuple[list[Membership], str | None]:
        """One page of the tenant's members in email order (through the email pointers, consistent reads), and the
        next page's cursor (``InvalidCursor``)."""

        def read(position: str | None, count: int) -> tuple[list[tuple[str, Membership]], bool]:
            pointers, more = self.table.sorted_keys(
                ("pk", tenant_pk(tenant_id)), ("sk", user_email_sk("")), position, count
            )
            found = {
                str(i["user_id"]): i
                for i in self.table.batch_get([(tenant_pk(tenant_id), user_sk(str(p["user_id"]))) for p in pointers])
            }
            rows = [(str(p["sk"]), found[str(p["user_id"])]) for p in pointers if str(p["user_id"]) in found]
            return [(sort_key, _from_item(item)) for sort_key, item in rows], more

        return collect_page(read, user_email_sk(""), limit, cursor)

    # ---- writes ---------------------------------------------------------------------------
    def update(
        self, m: Membership, role: str, accounts: list[str], extra_ops: list[TxItem] | None = None
    ) -> Membership:
        """Set role and accounts, conditioned on the version ``m`` was read at (last sign-in is left alone),
        in one transaction with ``extra_ops`` (its audit entry, condition checks)."""
        ops: list[TxItem] = [
            (
                "membership",
                {
                    "Update": {
                        "Key": key(tenant_pk(m.tenant_id), user_sk(m.user_id)),
                        "UpdateExpression": "SET #role = :role, accounts = :accounts, version = :next",
                        "ConditionExpression": "version = :v",
                        "ExpressionAttributeNames": {"#role": "role"},
                        "ExpressionAttributeValues": serialize_values(
                            {":role": role, ":accounts": accounts, ":next": m.version + 1, ":v": m.version}
                        ),
                    }
                },
            ),
            *(extra_ops or []),
        ]
        try:
            self.table.transact(ops)
        except TransactionCancelled as exc:
            raise ConcurrentChange() from exc
        return m.model_copy(update={"role": role, "accounts": accounts, "version": m.version + 1})

    def delete(self, m: Membership, extra_ops: list[TxItem] | None = None) -> None:
        """Delete the membership and free its email, atomically with ``extra_ops``; refused if it changed
        since it was read."""
        ops: list[TxItem] = [
            (
                "membership",
                {
                    "Delete": {
                        "Key": key(tenant_pk(m.tenant_id), user_sk(m.user_id)),
                        "ConditionExpression": "version = :v",
                        "ExpressionAttributeValues": {":v": {"N": str(m.version)}},
                    }
                },
            ),
            (
                "member_email_pointer",
                {
                    "Delete": {
                        "Key": key(tenant_pk(m.tenant_id), user_email_sk(m.email)),
                        "ConditionExpression": "attribute_not_exists(pk) OR user_id = :u",
                        "ExpressionAttributeValues": {":u": {"S": m.user_id}},
                    }
                },
            ),
            *(extra_ops or []),
        ]
        try:
            self.table.transact(ops)
        except TransactionCancelled as exc:
            raise ConcurrentChange() from exc

    def record_login(self, m: Membership, when: datetime) -> bool:
        """Set the last sign-in; False if the membership no longer exists (removed meanwhile)."""
        try:
            self.table.client.update_item(
                TableName=self.table.name,
                Key=key(tenant_pk(m.tenant_id), user_sk(m.user_id)),
                UpdateExpression="SET last_login_at = :w",
                ConditionExpression="attribute_exists(pk) AND #status = :active",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=serialize_values({":w": when.isoformat(), ":active": "active"}),
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True
