"""SCIM provisioning in the single table: the tenant's token and settings, SCIM names, groups, activity.

Items:
- settings       pk=TENANT#<t>              sk=SCIM#CONFIG              (token hash, group mappings, defaults)
- token pointer  pk=SCIMTOKEN#<sha256 hex>  sk=SCIMTOKEN                (tenant_id: the bearer token's one key read)
- userName       pk=TENANT#<t>              sk=SCIMUSERNAME#<name key>  (user_id; one user per userName and tenant)
- group          pk=TENANT#<t>              sk=SCIMGROUP#<group_id>     (displayName, externalId, members string set)
- group name     pk=TENANT#<t>              sk=SCIMGROUPNAME#<name key> (group_id; one group per displayName)
- activity       pk=TENANT#<t>              sk=SCIMLOG#<time>#<ns>#<id> (what the client did or was refused; TTL)

Provisioned users are memberships (``dal.users``: pk=TENANT#<t> sk=USER#<id> and its email pointer); every write
here is one transaction with the membership, its pointers, its audit entry and its activity entry, conditioned on
the versions read, so two clients (or a client and an admin) never interleave half a change.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeAlias

from sso_core.dal import users
from sso_core.dal.audit import sort_time
from sso_core.dal.invitations import InvitationRepository
from sso_core.dal.table import InvalidCursor, Table, TransactionCancelled, TxItem, key, serialize, serialize_values
from sso_core.models.audit import current_request_id
from sso_core.models.errors import ConcurrentChange, InvalidRequest
from sso_core.models.invitations import Invitation
from sso_core.models.provisioning import ActivityEntry, ActivityPage, ProvisioningConfig, StoredGroup
from sso_core.models.users import Membership

CONFIG_SK = "SCIM#CONFIG"
TOKEN_SK = "SCIMTOKEN"
ACTIVITY_PREFIX = "SCIMLOG#"
GROUP_PREFIX = "SCIMGROUP#"
ACTIVITY_RETENTION = timedelta(days=90)


class Taken(Exception):
    """A uniqueness condition failed: ``what`` is "userName", "email" or "displayName"."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


@dataclass(frozen=True)
class Activity:
    outcome: str  # "applied" | "refused"
    operation: str
    target: str = ""
    summary: str = ""
    status: int = 200
    scim_type: str = ""


def _token_pk(token_hash: str) -> str:
    return f"SCIMTOKEN#{token_hash}"


def _user_name_sk(name_key: str) -> str:
    return f"SCIMUSERNAME#{name_key}"


def _group_sk(group_id: str) -> str:
    return f"{GROUP_PREFIX}{group_id}"


def _group_name_sk(name_key: str) -> str:
    return f"SCIMGROUPNAME#{name_key}"


Op: TypeAlias = TxItem | dict[str, Any]  # a named item, or one of this module's own ops (named here)


def _transact(table: Table, ops: list[Op], uniqueness: dict[int, str]) -> None:
    """Run ``ops``; the items ``uniqueness`` names as it builds them (by their place, noted beside the append) are
    named "unique:<what>" before the transaction, so a failed one is Taken(what); any other failure ConcurrentChange."""
    named: list[TxItem] = []
    for index, op in enumerate(ops):
        name, body = op if isinstance(op, tuple) else (f"scim_item_{index}", op)
        named.append((f"unique:{uniqueness[index]}" if index in uniqueness else name, body))
    try:
        table.transact(named)
    except TransactionCancelled as exc:
        for name in sorted(exc.failed):
            if name.startswith("unique:"):
                raise Taken(name.removeprefix("unique:")) from exc
        raise ConcurrentChange() from exc


def _pointer_put(pk: str, sk: str, kind: str, **values: str) -> dict[str, Any]:
    return {
        "Put": {
            "Item": serialize({"pk": pk, "sk": sk, "type": kind, **values}),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def _pointer_delete(pk: str, sk: str, attribute: str, value: str) -> dict[str, Any]:
    return {
        "Delete": {
            "Key": key(pk, sk),
            "ConditionExpression": f"attribute_not_exists(pk) OR {attribute} = :v",
            "ExpressionAttributeValues": {":v": {"S": value}},
        }
    }


class ProvisioningRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    # ---- token and settings ------------------------------------------------------------------------------------
    def tenant_for_token(self, token_hash: str) -> str | None:
        item = self.table.get(_token_pk(token_hash), TOKEN_SK, consistent=False)
        return str(item["tenant_id"]) if item else None

    def config(self, tenant_id: str) -> ProvisioningConfig | None:
        item = self.table.get(users.tenant_pk(tenant_id), CONFIG_SK)
        return ProvisioningConfig.model_validate(item) if item else None

    def _config_put(self, current: ProvisioningConfig | None, saved: ProvisioningConfig) -> dict[str, Any]:
        op: dict[str, Any] = {
            "Item": serialize(
                {"pk": users.tenant_pk(saved.tenant_id), "sk": CONFIG_SK, "type": "scim_config"}
                | saved.model_dump(mode="json")
            )
        }
        if current is None:
            op["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            op["ConditionExpression"] = "version = :v"
            op["ExpressionAttributeValues"] = {":v": {"N": str(current.version)}}
        return {"Put": op}

    def save_config(
        self, current: ProvisioningConfig | None, saved: ProvisioningConfig, extra_ops: list[Op]
    ) -> ProvisioningConfig:
        """Write ``saved`` (its token pointer swapped in if the hash changed) if nothing changed since ``current``
        was read; ConcurrentChange otherwise."""
        saved = saved.model_copy(update={"version": (current.version + 1) if current else 0})
        ops = [self._config_put(current, saved)]
        old_hash = current.token_hash if current else None
        if saved.token_hash != old_hash:
            if old_hash:
                ops.append({"Delete": {"Key": key(_token_pk(old_hash), TOKEN_SK)}})
            if saved.token_hash:
                ops.append(_pointer_put(_token_pk(saved.token_hash), TOKEN_SK, "scim_token", tenant_id=saved.tenant_id))
        _transact(self.table, [*ops, *extra_ops], {})
        return saved

    # ---- users (memberships with SCIM attributes) ----------------------------------------------------------------
    def user_id_for_name(self, tenant_id: str, name_key: str) -> str | None:
        item = self.table.get(users.tenant_pk(tenant_id), _user_name_sk(name_key))
        return str(item["user_id"]) if item else None

    def create_member(self, m: Membership, name_key: str, extra_ops: list[Op]) -> None:
        """The membership, its email pointer and its userName pointer, atomically with ``extra_ops``."""
        ops = [
            *users.create_ops(m),
            _pointer_put(users.tenant_pk(m.tenant_id), _user_name_sk(name_key), "scim_user_name", user_id=m.user_id),
            *extra_ops,
        ]
        _transact(self.table, ops, {1: "email", 2: "userName"})

    def link_invitation(
        self, inv: Invitation, m: Membership, name_key: str, when: datetime, extra_ops: list[Op]
    ) -> None:
        """A SCIM create for an invited email: the pending invitation is accepted by the same transaction that
        creates the membership (one membership, not two). Raises the invitation's own errors or Taken."""
        assert inv.token_hash is not None
        name_put = _pointer_put(
            users.tenant_pk(m.tenant_id), _user_name_sk(name_key), "scim_user_name", user_id=m.user_id
        )
        extra: list[TxItem] = [
            ("unique:userName", name_put),
            *((op if isinstance(op, tuple) else (f"scim_item_{i}", op)) for i, op in enumerate(extra_ops)),
        ]
        try:
            InvitationRepository(self.table).accept(inv, inv.token_hash, m, when, extra)
        except TransactionCancelled as exc:
            if exc.failed_on("unique:userName"):
                raise Taken("userName") from exc
            raise

    def write_member(
        self,
        before: Membership,
        after: Membership,
        names: tuple[str, str],
        extra_ops: list[Op],
    ) -> Membership:
        """Replace the member's email, status, role, accounts, groups and SCIM attributes, conditioned on the
        version ``before`` was read at; the email and userName pointers move with them. ``names``: the userName
        keys before and after ("" before: the member had none)."""
        saved = after.model_copy(update={"version": before.version + 1})
        pk = users.tenant_pk(before.tenant_id)
        ops: list[dict[str, Any]] = [member_update_op(before, saved)]
        uniqueness: dict[int, str] = {}
        if saved.email != before.email:
            ops.append(_pointer_delete(pk, users.user_email_sk(before.email), "user_id", before.user_id))
            uniqueness[len(ops)] = "email"
            ops.append(_pointer_put(pk, users.user_email_sk(saved.email), "membership_email", user_id=saved.user_id))
        old_name, new_name = names
        if old_name != new_name:
            if old_name:
                ops.append(_pointer_delete(pk, _user_name_sk(old_name), "user_id", before.user_id))
            uniqueness[len(ops)] = "userName"
            ops.append(_pointer_put(pk, _user_name_sk(new_name), "scim_user_name", user_id=saved.user_id))
        _transact(self.table, [*ops, *extra_ops], uniqueness)
        return saved

    def delete_member(self, m: Membership, name_key: str, extra_ops: list[Op]) -> None:
        pk = users.tenant_pk(m.tenant_id)
        ops: list[dict[str, Any]] = [
            {
                "Delete": {
                    "Key": key(pk, users.user_sk(m.user_id)),
                    "ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": {"N": str(m.version)}},
                }
            },
            _pointer_delete(pk, users.user_email_sk(m.email), "user_id", m.user_id),
        ]
        if name_key:
            ops.append(_pointer_delete(pk, _user_name_sk(name_key), "user_id", m.user_id))
        _transact(self.table, [*ops, *extra_ops], {})

    def members(self, tenant_id: str, user_ids: list[str]) -> dict[str, Membership]:
        found = self.table.batch_get([(users.tenant_pk(tenant_id), users.user_sk(u)) for u in dict.fromkeys(user_ids)])
        return {str(i["user_id"]): Membership.model_validate(i) for i in found}

    # ---- groups ------------------------------------------------------------------------------------------------
    def group(self, tenant_id: str, group_id: str) -> StoredGroup | None:
        item = self.table.get(users.tenant_pk(tenant_id), _group_sk(group_id))
        return _group_from_item(item) if item else None

    def groups(self, tenant_id: str, group_ids: list[str]) -> list[StoredGroup]:
        keys = [(users.tenant_pk(tenant_id), _group_sk(g)) for g in dict.fromkeys(group_ids)]
        return [_group_from_item(i) for i in self.table.batch_get(keys)] if keys else []

    def group_id_for_name(self, tenant_id: str, name_key: str) -> str | None:
        item = self.table.get(users.tenant_pk(tenant_id), _group_name_sk(name_key))
        return str(item["group_id"]) if item else None

    def list_groups(self, tenant_id: str) -> list[StoredGroup]:
        items = self.table.query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
            ExpressionAttributeValues=serialize({":pk": users.tenant_pk(tenant_id), ":p": GROUP_PREFIX}),
            ConsistentRead=True,
        )
        return sorted((_group_from_item(i) for i in items), key=lambda g: (g.display_name.lower(), g.id))

    def write_group(
        self,
        before: StoredGroup | None,
        after: StoredGroup | None,
        names: tuple[str, str],
        extra_ops: list[Op],
    ) -> None:
        """Create (``before`` None), replace, or delete (``after`` None) a group with its displayName pointer,
        conditioned on the version read, atomically with ``extra_ops`` (its members' updates, audit, activity)."""
        tenant_id = (after or before).tenant_id  # type: ignore[union-attr]
        pk = users.tenant_pk(tenant_id)
        ops: list[dict[str, Any]] = []
        if after is None:
            assert before is not None
            ops.append(
                {
                    "Delete": {
                        "Key": key(pk, _group_sk(before.id)),
                        "ConditionExpression": "version = :v",
                        "ExpressionAttributeValues": {":v": {"N": str(before.version)}},
                    }
                }
            )
        else:
            put: dict[str, Any] = {"Item": serialize(_group_to_item(after))}
            if before is None:
                put["ConditionExpression"] = "attribute_not_exists(pk)"
            else:
                put["ConditionExpression"] = "version = :v"
                put["ExpressionAttributeValues"] = {":v": {"N": str(before.version)}}
            ops.append({"Put": put})
        uniqueness: dict[int, str] = {}
        old_name, new_name = names
        if old_name != new_name:
            if old_name and before is not None:
                ops.append(_pointer_delete(pk, _group_name_sk(old_name), "group_id", before.id))
            if new_name and after is not None:
                uniqueness[len(ops)] = "displayName"
                ops.append(_pointer_put(pk, _group_name_sk(new_name), "scim_group_name", group_id=after.id))
        _transact(self.table, [*ops, *extra_ops], uniqueness)

    # ---- activity ----------------------------------------------------------------------------------------------
    def activity_op(self, tenant_id: str, activity: Activity, when: datetime) -> dict[str, Any]:
        entry_id = secrets.token_hex(6)
        item = {
            "pk": users.tenant_pk(tenant_id),
            "sk": f"{ACTIVITY_PREFIX}{sort_time(when)}#{time.time_ns():020d}#{entry_id}",
            "type": "scim_activity",
            "id": entry_id,
            "time": when.isoformat(),
            "outcome": activity.outcome,
            "operation": activity.operation,
            "target": activity.target,
            "summary": activity.summary[:500],
            "status": activity.status,
            "scim_type": activity.scim_type,
            "request_id": current_request_id.get(),
            "ttl": int((when + ACTIVITY_RETENTION).timestamp()),
        }
        return {"Put": {"TableName": self.table.name, "Item": serialize(item)}}

    def record_activity(self, tenant_id: str, activity: Activity, when: datetime) -> None:
        """A refused request's entry, on its own (nothing else was written)."""
        op = self.activity_op(tenant_id, activity, when)["Put"]
        self.table.client.put_item(TableName=self.table.name, Item=op["Item"])

    def activity_page(self, tenant_id: str, limit: int, cursor: str | None) -> ActivityPage:
        try:
            items, next_cursor = self.table.newest_first(users.tenant_pk(tenant_id), ACTIVITY_PREFIX, limit, cursor)
        except InvalidCursor:
            raise InvalidRequest("The cursor is not valid.") from None
        return ActivityPage(entries=[ActivityEntry.model_validate(i) for i in items], next_cursor=next_cursor)


def member_update_op(before: Membership, after: Membership) -> dict[str, Any]:
    """Transaction op: the member's mutable fields as in ``after``, if still at ``before``'s version."""
    return {
        "Update": {
            "Key": key(users.tenant_pk(before.tenant_id), users.user_sk(before.user_id)),
            "UpdateExpression": "SET email = :e, #status = :s, #role = :r, accounts = :a, groups = :g, scim = :j, "
            "provisioned = :p, updated_at = :u, version = :next",
            "ConditionExpression": "version = :v",
            "ExpressionAttributeNames": {"#status": "status", "#role": "role"},
            "ExpressionAttributeValues": serialize_values(
                {
                    ":e": after.email,
                    ":s": after.status,
                    ":r": after.role,
                    ":a": list(after.accounts),
                    ":g": list(after.groups),
                    ":j": after.scim,
                    ":p": after.provisioned,
                    ":u": after.updated_at.isoformat() if after.updated_at else None,
                    ":next": before.version + 1,
                    ":v": before.version,
                }
            ),
        }
    }


def _group_to_item(g: StoredGroup) -> dict[str, Any]:
    data = g.model_dump(mode="json")
    data["members"] = set(g.members) or None  # a string set; DynamoDB has no empty set, so none is no attribute
    return {"pk": users.tenant_pk(g.tenant_id), "sk": _group_sk(g.id), "type": "scim_group", **data}


def _group_from_item(item: dict[str, Any]) -> StoredGroup:
    data = dict(item)
    data["members"] = sorted(data.get("members") or [])
    return StoredGroup.model_validate(data)


__all__ = ["Activity", "ProvisioningRepository", "Taken", "group_member_removal_op", "member_update_op"]


def group_member_removal_op(g: StoredGroup, user_id: str, when: datetime) -> dict[str, Any]:
    """Transaction op: ``user_id`` out of the group's members (a user being deleted), whatever else changed."""
    return {
        "Update": {
            "Key": key(users.tenant_pk(g.tenant_id), _group_sk(g.id)),
            "UpdateExpression": "DELETE members :m SET version = version + :one, updated_at = :u",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": serialize_values({":m": {user_id}, ":one": 1, ":u": when.isoformat()}),
        }
    }
