"""Invitations and their pointers, in the single table.

Items:
- invitation       pk=TENANT#<t>            sk=INVITE#<id>
                   (tenant_pk=TENANT#<t> tenant_sk=INVITE#<created>#<id>: the by-tenant index lists them newest first)
- pending pointer  pk=TENANT#<t>            sk=INVITEEMAIL#<email>  (invitation_id; exists while one is pending)
- token pointer    pk=INVTOKEN#<sha256 hex> sk=INVTOKEN             (tenant_id, invitation_id; ttl)

Uniqueness and single use are conditions inside one transaction, never read-then-write: a second pending
invitation for an email fails on the pending pointer, an invitation for a member fails on the membership
email pointer, and accepting consumes the token pointer and moves the invitation from pending to accepted
together with creating the membership, so of two concurrent accepts exactly one commits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sso_core.dal import users
from sso_core.dal.audit import sort_time
from sso_core.dal.table import (
    TENANT_INDEX,
    Table,
    TransactionCancelled,
    TxItem,
    collect_page,
    key,
    serialize,
    serialize_values,
)
from sso_core.models.errors import ConcurrentChange
from sso_core.models.invitations import Invitation, InvitationStatus, InvitationUnusable
from sso_core.models.users import AlreadyMember, Membership

TOKEN_SK = "INVTOKEN"
# The token pointer outlives the invitation's expiry a little; TTL deletion is lazy, so expiry is also
# checked on every use.
TOKEN_TTL_GRACE = timedelta(days=1)


class PendingExists(Exception):
    """The email already has a pending invitation in the tenant."""


class TransactionConflict(Exception):
    """Another transaction touched the same items at the same time; re-read and retry."""


def _invite_sk(invitation_id: str) -> str:
    return f"INVITE#{invitation_id}"


def _pending_sk(email: str) -> str:
    return f"INVITEEMAIL#{email}"


def _token_pk(token_hash: str) -> str:
    return f"INVTOKEN#{token_hash}"


def _epoch(when: datetime) -> int:
    return int(when.timestamp())


def _to_item(inv: Invitation) -> dict[str, Any]:
    return {
        "pk": users.tenant_pk(inv.tenant_id),
        "sk": _invite_sk(inv.id),
        "type": "invitation",
        "tenant_pk": users.tenant_pk(inv.tenant_id),
        "tenant_sk": f"{_invite_sk('')}{sort_time(inv.created_at)}#{inv.id}",
        **inv.model_dump(mode="json"),
        # Numeric copy of expires_at for condition expressions.
        "expires_epoch": _epoch(inv.expires_at),
    }


def _from_item(item: dict[str, Any]) -> Invitation:
    return Invitation.model_validate(item)


def _token_put(inv: Invitation, token_hash: str) -> dict[str, Any]:
    return {
        "Put": {
            "Item": serialize(
                {
                    "pk": _token_pk(token_hash),
                    "sk": TOKEN_SK,
                    "type": "invitation_token",
                    "tenant_id": inv.tenant_id,
                    "invitation_id": inv.id,
                    "ttl": _epoch(inv.expires_at + TOKEN_TTL_GRACE),
                }
            ),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def _token_delete(token_hash: str, must_exist: bool) -> dict[str, Any]:
    op: dict[str, Any] = {"Key": key(_token_pk(token_hash), TOKEN_SK)}
    if must_exist:
        op["ConditionExpression"] = "attribute_exists(pk)"
    return {"Delete": op}


def _pending_delete(inv: Invitation) -> dict[str, Any]:
    return {
        "Delete": {
            "Key": key(users.tenant_pk(inv.tenant_id), _pending_sk(inv.email)),
            "ConditionExpression": "attribute_not_exists(pk) OR invitation_id = :id",
            "ExpressionAttributeValues": {":id": {"S": inv.id}},
        }
    }


def _still_pending_put(saved: Invitation, current: Invitation) -> dict[str, Any]:
    """Transaction op: write ``saved`` if the invitation is still pending at the version ``current`` was read."""
    return {
        "Put": {
            "Item": serialize(_to_item(saved)),
            "ConditionExpression": "version = :v AND #status = :pending",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": serialize_values(
                {":v": current.version, ":pending": InvitationStatus.PENDING.value}
            ),
        }
    }


class InvitationRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    # ---- reads ----------------------------------------------------------------------------
    def get(self, tenant_id: str, invitation_id: str) -> Invitation | None:
        item = self.table.get(users.tenant_pk(tenant_id), _invite_sk(invitation_id))
        return _from_item(item) if item else None

    def pending_for_email(self, tenant_id: str, email: str) -> Invitation | None:
        pointer = self.table.get(users.tenant_pk(tenant_id), _pending_sk(email))
        return self.get(tenant_id, str(pointer["invitation_id"])) if pointer else None

    def by_token_hash(self, token_hash: str) -> Invitation | None:
        """The invitation a token points to, whatever its state (the caller checks usability)."""
        pointer = self.table.get(_token_pk(token_hash), TOKEN_SK)
        if not pointer:
            return None
        return self.get(str(pointer["tenant_id"]), str(pointer["invitation_id"]))

    def list_for_tenant(self, tenant_id: str) -> list[Invitation]:
        items = self.table.query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
            ExpressionAttributeValues={":pk": {"S": users.tenant_pk(tenant_id)}, ":p": {"S": "INVITE#"}},
            ConsistentRead=True,
        )
        return sorted((_from_item(i) for i in items), key=lambda i: (i.created_at, i.id), reverse=True)

    def page(
        self, tenant_id: str, limit: int, cursor: str | None, keep: Callable[[Invitation], bool] | None = None
    ) -> tuple[list[Invitation], str | None]:
        """One page of the tenant's invitations that ``keep`` accepts, newest first, and the next page's cursor
        (``InvalidCursor``)."""

        def read(position: str | None, count: int) -> tuple[list[tuple[str, Invitation]], bool]:
            keys, more = self.table.sorted_keys(
                ("tenant_pk", users.tenant_pk(tenant_id)),
                ("tenant_sk", _invite_sk("")),
                position,
                count,
                forward=False,
                index=TENANT_INDEX,
                start_key=lambda sort_key: (users.tenant_pk(tenant_id), _invite_sk(sort_key.rsplit("#", 1)[-1])),
            )
            # Keys-only and eventually consistent: each invitation's current state, read consistently.
            found = {str(i["sk"]): i for i in self.table.batch_get([(k["pk"], k["sk"]) for k in keys])}
            rows = [(str(k["tenant_sk"]), found[str(k["sk"])]) for k in keys if str(k["sk"]) in found]
            return [(sort_key, _from_item(item)) for sort_key, item in rows], more

        return collect_page(read, _invite_sk(""), limit, cursor, keep)

    # ---- writes ---------------------------------------------------------------------------
    def create(self, inv: Invitation, extra_ops: list[TxItem] | None = None) -> None:
        """Store a new pending invitation with its pending and token pointers (and ``extra_ops``, after them).

        Raises PendingExists (the email has a pending invitation), AlreadyMember, or TransactionConflict.
        """
        assert inv.token_hash is not None
        ops: list[TxItem] = [
            (
                "invitation",
                {"Put": {"Item": serialize(_to_item(inv)), "ConditionExpression": "attribute_not_exists(pk)"}},
            ),
            (
                "pending_pointer",
                {
                    "Put": {
                        "Item": serialize(
                            {
                                "pk": users.tenant_pk(inv.tenant_id),
                                "sk": _pending_sk(inv.email),
                                "type": "invitation_pending",
                                "invitation_id": inv.id,
                            }
                        ),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ),
            ("token_pointer", _token_put(inv, inv.token_hash)),
            ("not_a_member", users.no_member_check_op(inv.tenant_id, inv.email)),
            *(extra_ops or []),
        ]
        try:
            self.table.transact(ops)
        except TransactionCancelled as exc:
            if exc.failed_on("not_a_member"):
                raise AlreadyMember() from exc
            if exc.failed_on("pending_pointer"):
                raise PendingExists() from exc
            if exc.conflict:
                raise TransactionConflict() from exc
            raise

    def discard(self, inv: Invitation, extra_ops: list[TxItem] | None = None) -> None:
        """Undo ``create`` of an invitation whose mail could not be sent (its token was never seen)."""
        assert inv.token_hash is not None
        ops: list[TxItem] = [
            (
                "invitation",
                {
                    "Delete": {
                        "Key": key(users.tenant_pk(inv.tenant_id), _invite_sk(inv.id)),
                        "ConditionExpression": "version = :v",
                        "ExpressionAttributeValues": {":v": {"N": str(inv.version)}},
                    }
                },
            ),
            ("pending_pointer", _pending_delete(inv)),
            ("token_pointer", _token_delete(inv.token_hash, must_exist=False)),
            *(extra_ops or []),
        ]
        self.table.transact(ops)

    def _replace_pending(self, current: Invitation, ops: list[TxItem], extra_ops: list[TxItem] | None) -> None:
        """Run ``ops`` with the removal of ``current``'s token pointer; ConcurrentChange if anything moved."""
        if current.token_hash:
            ops.append(("old_token_pointer", _token_delete(current.token_hash, must_exist=False)))
        ops.extend(extra_ops or [])
        try:
            self.table.transact(ops)
        except TransactionCancelled as exc:
            raise ConcurrentChange() from exc

    def rotate_token(
        self, current: Invitation, renewed: Invitation, extra_ops: list[TxItem] | None = None
    ) -> Invitation:
        """Replace ``current``'s token with ``renewed``'s (new hash and expiry): the old link stops working.

        Conditioned on the version and the pending state ``current`` was read in; ConcurrentChange otherwise.
        """
        assert renewed.token_hash is not None
        saved = renewed.model_copy(update={"version": current.version + 1})
        ops: list[TxItem] = [
            ("invitation", _still_pending_put(saved, current)),
            ("token_pointer", _token_put(saved, renewed.token_hash)),
        ]
        self._replace_pending(current, ops, extra_ops)
        return saved

    def revoke(self, current: Invitation, when: datetime, extra_ops: list[TxItem] | None = None) -> Invitation:
        """Pending to revoked, dropping both pointers; ConcurrentChange if it changed since it was read."""
        saved = current.model_copy(
            update={
                "status": InvitationStatus.REVOKED,
                "revoked_at": when,
                "token_hash": None,
                "version": current.version + 1,
            }
        )
        ops: list[TxItem] = [
            ("invitation", _still_pending_put(saved, current)),
            ("pending_pointer", _pending_delete(current)),
        ]
        self._replace_pending(current, ops, extra_ops)
        return saved

    def accept(
        self,
        current: Invitation,
        token_hash: str,
        membership: Membership,
        when: datetime,
        extra_ops: list[TxItem] | None = None,
    ) -> Invitation:
        """One transaction: the token is consumed, the invitation goes pending to accepted, the membership
        and its email pointer are created. Both or neither.

        Raises InvitationUnusable (token used, rotated or revoked meanwhile, or expired), AlreadyMember, or
        TransactionConflict (a concurrent transaction on the same items; re-read and retry).
        """
        saved = current.model_copy(
            update={
                "status": InvitationStatus.ACCEPTED,
                "accepted_at": when,
                "user_id": membership.user_id,
                "token_hash": None,
                "version": current.version + 1,
            }
        )
        ops: list[TxItem] = [
            (
                "invitation",
                {
                    "Put": {
                        "Item": serialize(_to_item(saved)),
                        "ConditionExpression": (
                            "#status = :pending AND token_hash = :h AND expires_epoch > :now AND version = :v"
                        ),
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": serialize_values(
                            {
                                ":pending": InvitationStatus.PENDING.value,
                                ":h": token_hash,
                                ":now": _epoch(when),
                                ":v": current.version,
                            }
                        ),
                    }
                },
            ),
            ("token_pointer", _token_delete(token_hash, must_exist=True)),
            ("pending_pointer", _pending_delete(current)),
            *users.create_ops(membership),
            *(extra_ops or []),
        ]
        try:
            self.table.transact(ops)
        except TransactionCancelled as exc:
            if exc.failed_on("invitation", "token_pointer", "pending_pointer"):
                raise InvitationUnusable() from exc
            if exc.failed_on("member_email_pointer"):
                raise AlreadyMember() from exc
            if exc.conflict:
                raise TransactionConflict() from exc
            raise
        return saved
