"""The SCIM 2.0 service (RFC 7643, RFC 7644) one tenant's provisioning client talks to: Users, Groups, discovery.

A SCIM User is a membership of the tenant (``dal.users``); its SCIM attributes ride on the membership item, so one
key read serves a GET and SSO reads the same item it always did. Protocol work is ``scim2_models``': parsing and
validating resources (unknown attributes refused), filters (parsed, checked against the schema, evaluated), PATCH
(Entra's capitalised ops, ``emails[type eq "work"].value`` paths, ``remove`` with a value list), errors, list
responses and the discovery documents. What is ours: tenancy, the rules a member obeys (email in a verified domain
of the tenant, one membership per email, owners managed in the console only), roles from group mappings, and the
transactions that write a change with its audit and activity entries.

Entra specifics handled here (besides the library's): ``active`` as the string "True"/"False"; a ``userName eq``
query before every create (answered with one key read, and matching members invited before provisioning began, so
the client links them instead of creating a second membership); ``excludedAttributes=members`` on groups; soft
delete by ``active: false`` (the membership is suspended: no SSO, kept for reactivation) and hard delete.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from unicodedata import normalize

from pydantic import ValidationError
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    ConflictException,
    Context,
    EnterpriseUser,
    Error,
    ETag,
    Filter,
    ForbiddenException,
    Group,
    GroupMember,
    InvalidSyntaxException,
    InvalidValueException,
    ListResponse,
    Meta,
    NotFoundException,
    Patch,
    PatchOp,
    PreconditionFailedException,
    ResourceType,
    SCIMException,
    ScimPolicy,
    SearchRequest,
    ServiceProviderConfig,
    Sort,
    UniquenessException,
    User,
)
from scim2_models.path import CompareOperator, Comparison

from sso_core.clock import Clock, utcnow
from sso_core.dal.audit import AuditLog
from sso_core.dal.domains import DomainRepository
from sso_core.dal.invitations import InvitationRepository
from sso_core.dal.provisioning import (
    Activity,
    ProvisioningRepository,
    Taken,
    group_member_removal_op,
    member_update_op,
)
from sso_core.dal.table import Table
from sso_core.dal.users import MembershipRepository
from sso_core.logic.invitations import new_id
from sso_core.logic.memberships import normalise_email
from sso_core.models.audit import Actor
from sso_core.models.domains import DomainStatus
from sso_core.models.errors import ConcurrentChange
from sso_core.models.identity import ROLE_RANK
from sso_core.models.invitations import InvitationUnusable
from sso_core.models.provisioning import ProvisioningSettings, StoredGroup
from sso_core.models.users import AlreadyMember, InvalidEmail, Membership
from sso_core.observability import logger

ScimUser = User[EnterpriseUser]
R = TypeVar("R")

# Entra removes group members with a value list and expects a filtered path that matches nothing to create the entry.
POLICY = ScimPolicy(
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)
MAX_RESULTS = 200  # count is capped here (RFC 7644 3.4.2.4 lets a provider return fewer than asked)
MAX_MEMBER_CHANGES = 90  # members whose grant one group write changes: one DynamoDB transaction holds 100 items
MAX_BODY = 256 * 1024
SCIM_ACTOR = Actor("scim", "provisioning client")
_ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


def name_key(value: str) -> str:
    """The form userName and displayName are compared (and kept unique) in: NFC, case-folded, as filters do."""
    return normalize("NFC", value).lower()


@dataclass(frozen=True)
class ScimResult:
    status: int
    body: dict[str, Any] | None = None
    etag: str | None = None
    location: str | None = None


def error_body(exc: SCIMException) -> dict[str, Any]:
    return exc.to_error().model_dump()


def as_scim_error(exc: ValidationError) -> SCIMException:
    """A pydantic error as the SCIM error RFC 7644 3.12 gives it (invalidSyntax, invalidValue, ...)."""
    return _validation_error(exc)


def _validation_error(exc: ValidationError) -> SCIMException:
    error: Error = Error.from_validation_errors(exc)[0]
    return SCIMException.from_error(error)


def _parse_json(raw: str | bytes | None) -> dict[str, Any]:
    if raw is None or raw in ("", b""):
        raise InvalidSyntaxException(detail="A JSON body is required.")
    if len(raw) > MAX_BODY:
        raise InvalidValueException(detail=f"The body is larger than {MAX_BODY} bytes.")
    try:
        data = json.loads(raw)
    except (ValueError, TypeError):
        raise InvalidSyntaxException(detail="The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise InvalidSyntaxException(detail="The body must be a JSON object.")
    return data


def _entra_booleans(data: dict[str, Any]) -> dict[str, Any]:
    """Entra may send ``active`` as the string "True"/"False"; anything else that is not a boolean is refused."""
    value = data.get("active")
    if isinstance(value, str) and value.lower() in ("true", "false"):
        data["active"] = value.lower() == "true"
    return data


def _patch_booleans(data: dict[str, Any]) -> dict[str, Any]:
    for operation in data.get("Operations") or []:
        if not isinstance(operation, dict):
            continue
        path = operation.get("path")
        value = operation.get("value")
        if isinstance(path, str) and path.lower() == "active" and isinstance(value, str):
            if value.lower() in ("true", "false"):
                operation["value"] = value.lower() == "true"
        elif path is None and isinstance(value, dict):
            _entra_booleans(value)
    return data


def _validated(model: type[R], data: dict[str, Any], ctx: Context) -> R:
    try:
        return model.model_validate(data, scim_ctx=ctx, scim_policy=POLICY)  # type: ignore[attr-defined, no-any-return]
    except ValidationError as exc:
        raise _validation_error(exc) from None
    except SCIMException:
        raise


def _check_version(if_match: str | None, version: int) -> None:
    """RFC 7644 3.14: a request with If-Match is applied only to the version it names (else 412)."""
    if not if_match:
        return
    wanted = {tag.strip() for tag in if_match.split(",")}
    if "*" in wanted:
        return
    if _etag(version) not in wanted and f'"{version}"' not in wanted:
        raise PreconditionFailedException(detail="The resource changed since that version (ETag) was read.")


def _etag(version: int) -> str:
    return f'W/"{version}"'


def _plausible_id(value: str, prefix: str) -> bool:
    return value.startswith(prefix) and len(value) <= 64 and set(value) <= _ID_CHARS


class ScimService:
    """One authenticated request's view: the tenant comes from the bearer token, never from the request."""

    def __init__(self, table: Table, tenant_id: str, base_url: str, clock: Clock = utcnow) -> None:
        self.table = table
        self.tenant_id = tenant_id
        self.base_url = base_url
        self.clock = clock
        self.repo = ProvisioningRepository(table)
        self.members = MembershipRepository(table)
        self.audit = AuditLog(table)
        self._settings: ProvisioningSettings | None = None

    # ---- helpers ---------------------------------------------------------------------------------------------------
    def settings(self) -> ProvisioningSettings:
        if self._settings is None:
            config = self.repo.config(self.tenant_id)
            self._settings = config.settings if config else ProvisioningSettings()
        return self._settings

    def record_refusal(self, operation: str, exc: SCIMException, target: str = "") -> None:
        self.repo.record_activity(
            self.tenant_id,
            Activity("refused", operation, target, exc.detail, exc.status, exc.scim_type),
            self.clock(),
        )

    def _log_ops(self, action: str, target: str, summary: str, before: Any, after: Any) -> list[dict[str, Any]]:
        now = self.clock()
        return [
            self.audit.put_op(self.tenant_id, SCIM_ACTOR, f"scim.{action}", target, before, after, now),
            self.repo.activity_op(self.tenant_id, Activity("applied", action, target, summary), now),
        ]

    def _verified_email(self, user: ScimUser) -> str:
        """The email SSO will match: the work email, else the primary one, else the first, else userName; its
        domain must be one the tenant verified."""
        emails = [e for e in user.emails or [] if e.value]
        chosen = (
            next((e for e in emails if e.type and str(e.type.value) == "work"), None)
            or next((e for e in emails if e.primary), None)
            or (emails[0] if emails else None)
        )
        raw = str(chosen.value) if chosen else (user.user_name or "")
        try:
            email = normalise_email(raw)
        except InvalidEmail:
            raise InvalidValueException(detail="The user needs an email address (emails or userName).") from None
        domain = email.rpartition("@")[2]
        claim = DomainRepository(self.table).get_claim(domain, self.tenant_id)
        if claim is None or claim.status is not DomainStatus.VERIFIED:
            raise InvalidValueException(
                detail=f"{domain} is not a verified domain of this organisation; only its users can be provisioned."
            )
        return email

    # ---- users -----------------------------------------------------------------------------------------------------
    def _user_of(self, m: Membership) -> ScimUser:
        data: dict[str, Any] = json.loads(m.scim) if m.scim else {}
        if not data:
            data = {"userName": m.email, "emails": [{"value": m.email, "type": "work", "primary": True}]}
        try:
            user = ScimUser.model_validate(data)
        except ValidationError:  # an invitation-made member whose address the SCIM email type does not take
            user = ScimUser(user_name=str(data.get("userName") or m.email))
        user.id = m.user_id
        user.active = m.status == "active"
        user.meta = Meta(
            resource_type="User",
            created=m.created_at,
            last_modified=m.updated_at or m.created_at,
            version=_etag(m.version),
            location=f"{self.base_url}/Users/{m.user_id}",
        )
        return user

    def _user_result(self, m: Membership, status: int = 200, params: SearchRequest[Any] | None = None) -> ScimResult:
        body = self._user_of(m).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=params)
        return ScimResult(status, body, _etag(m.version), f"{self.base_url}/Users/{m.user_id}")

    def _member(self, user_id: str) -> Membership:
        member = self.members.get(self.tenant_id, user_id) if _plausible_id(user_id, "usr_") else None
        if member is None:
            raise NotFoundException(detail=f"No user {user_id} in this organisation.")
        return member

    @staticmethod
    def _stored(user: ScimUser) -> str:
        data = user.model_dump(scim_ctx=Context.DEFAULT)
        for attribute in ("id", "meta", "active", "password", "groups"):
            data.pop(attribute, None)
        return json.dumps(data, sort_keys=True)

    @staticmethod
    def _name_of(m: Membership) -> str:
        """The userName key the member holds a pointer for ("" for an invitation-made member not yet linked)."""
        if not m.scim:
            return ""
        return name_key(str(json.loads(m.scim).get("userName") or ""))

    def create_user(self, raw: str | bytes | None) -> ScimResult:
        user = _validated(ScimUser, _entra_booleans(_parse_json(raw)), Context.RESOURCE_CREATION_REQUEST)
        assert user.user_name is not None  # required in a creation request
        email = self._verified_email(user)
        key_ = name_key(user.user_name)  # unique per tenant, as the email is: conditions of the transaction below
        now = self.clock()
        settings = self.settings()
        member = Membership(
            user_id=new_id("usr"),
            tenant_id=self.tenant_id,
            email=email,
            role=settings.default_role,  # type: ignore[arg-type]
            accounts=list(settings.default_accounts),
            status="active" if user.active is not False else "suspended",
            created_at=now,
            updated_at=now,
            invited_by="scim",
            provisioned=True,
            scim=self._stored(user),
        )
        invitation = InvitationRepository(self.table).pending_for_email(self.tenant_id, email)
        try:
            if invitation is not None and invitation.usable_at(now):
                # The grant the admin chose when inviting wins over the default.
                member = member.model_copy(
                    update={"role": invitation.role, "accounts": invitation.accounts, "invitation_id": invitation.id}
                )
                ops = self._log_ops("user.created", member.user_id, user.user_name, None, _audited(member))
                self.repo.link_invitation(invitation, member, key_, now, ops)
            else:
                ops = self._log_ops("user.created", member.user_id, user.user_name, None, _audited(member))
                self.repo.create_member(member, key_, ops)
        except (Taken, AlreadyMember) as exc:
            what = exc.what if isinstance(exc, Taken) else "email"
            raise UniquenessException(detail=f"A user with this {what} exists; query it and update it.") from None
        except InvitationUnusable:
            raise UniquenessException(detail="The invitation for this email changed meanwhile; retry.") from None
        logger.info("scim user created", extra={"tenant_id": self.tenant_id, "user_id": member.user_id})
        return self._user_result(member, 201)

    def get_user(self, user_id: str, query: Mapping[str, str]) -> ScimResult:
        params = self._search(ScimUser, query)
        return self._user_result(self._member(user_id), params=params)

    def list_users(self, query: Mapping[str, str]) -> ScimResult:
        params = self._search(ScimUser, query)
        filter_ = params.filter
        candidates: list[Membership]
        fast = _equality(filter_, "userName")
        if fast is not None:
            # Entra's query before every create: one key read (two for a member invited before provisioning).
            user_id = self.repo.user_id_for_name(self.tenant_id, name_key(fast))
            found = self.members.get(self.tenant_id, user_id) if user_id else None
            if found is None:
                try:
                    found = self.members.by_email(self.tenant_id, normalise_email(fast))
                except InvalidEmail:
                    found = None
                if found is not None and self._name_of(found) not in ("", name_key(fast)):
                    found = None  # the email belongs to a member whose userName is another one
            candidates = [found] if found is not None else []
        else:
            candidates = self.members.list_for_tenant(self.tenant_id)
        resources = [self._user_of(m) for m in candidates]
        if filter_ is not None:
            resources = [r for r in resources if filter_.match(r)]
        return self._page(ScimUser, resources, params)

    def replace_user(self, user_id: str, raw: str | bytes | None, if_match: str | None) -> ScimResult:
        data = _entra_booleans(_parse_json(raw))
        member = self._member(user_id)
        _check_version(if_match, member.version)
        user = _validated(ScimUser, data, Context.RESOURCE_REPLACEMENT_REQUEST)
        return self._write_user(member, user, "user.replaced", if_match)

    def patch_user(self, user_id: str, raw: str | bytes | None, if_match: str | None) -> ScimResult:
        data = _patch_booleans(_parse_json(raw))
        member = self._member(user_id)
        _check_version(if_match, member.version)
        patch = _validated(PatchOp[ScimUser], data, Context.RESOURCE_PATCH_REQUEST)  # type: ignore[misc]
        user = self._user_of(member)
        try:
            changed = patch.patch(user, scim_policy=POLICY)
        except ValidationError as exc:
            raise _validation_error(exc) from None
        if not changed:
            return self._user_result(member)
        return self._write_user(member, user, "user.patched", if_match)

    def _write_user(self, member: Membership, user: ScimUser, action: str, if_match: str | None) -> ScimResult:
        if not user.user_name:
            raise InvalidValueException(detail="userName is required.")
        email = self._verified_email(user)
        active = user.active is not False
        status = "active" if active else "suspended"
        if member.role == "owner" and (status != member.status or email != member.email):
            raise ForbiddenException(detail="Owners are managed in the console: SCIM cannot suspend or rename them.")
        if member.status == "active" and not active:
            action = "user.deactivated"
        elif member.status != "active" and active:
            action = "user.reactivated"
        now = self.clock()
        after = member.model_copy(
            update={
                "email": email,
                "status": status,
                "scim": self._stored(user),
                "provisioned": True,
                "updated_at": now,
            }
        )
        ops = self._log_ops(action, member.user_id, user.user_name, _audited(member), _audited(after))
        try:
            saved = self.repo.write_member(member, after, (self._name_of(member), name_key(user.user_name)), ops)
        except Taken as exc:
            raise UniquenessException(detail=f"Another user has this {exc.what}.") from None
        except ConcurrentChange:
            raise _concurrent(if_match) from None
        logger.info("scim user written", extra={"tenant_id": self.tenant_id, "user_id": member.user_id})
        return self._user_result(saved)

    def delete_user(self, user_id: str, if_match: str | None) -> ScimResult:
        member = self._member(user_id)
        _check_version(if_match, member.version)
        if member.role == "owner":
            raise ForbiddenException(detail="Owners are managed in the console: SCIM cannot delete them.")
        groups = self.repo.groups(self.tenant_id, member.groups)
        ops = [group_member_removal_op(g, member.user_id, self.clock()) for g in groups]
        ops += self._log_ops("user.deleted", member.user_id, member.email, _audited(member), None)
        try:
            self.repo.delete_member(member, self._name_of(member), ops)
        except ConcurrentChange:
            raise _concurrent(if_match) from None
        logger.info("scim user deleted", extra={"tenant_id": self.tenant_id, "user_id": member.user_id})
        return ScimResult(204)

    # ---- groups ----------------------------------------------------------------------------------------------------
    def _group_of(self, g: StoredGroup) -> Group:
        return Group(
            id=g.id,
            display_name=g.display_name,
            external_id=g.external_id,
            members=[
                GroupMember.model_validate({"value": u, "$ref": f"{self.base_url}/Users/{u}", "type": "User"})
                for u in g.members
            ]
            or None,
            meta=Meta(
                resource_type="Group",
                created=g.created_at,
                last_modified=g.updated_at,
                version=_etag(g.version),
                location=f"{self.base_url}/Groups/{g.id}",
            ),
        )

    def _group_result(self, g: StoredGroup, status: int = 200, params: SearchRequest[Any] | None = None) -> ScimResult:
        body = self._group_of(g).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=params)
        return ScimResult(status, body, _etag(g.version), f"{self.base_url}/Groups/{g.id}")

    def _group(self, group_id: str) -> StoredGroup:
        group = self.repo.group(self.tenant_id, group_id) if _plausible_id(group_id, "grp_") else None
        if group is None:
            raise NotFoundException(detail=f"No group {group_id} in this organisation.")
        return group

    def create_group(self, raw: str | bytes | None) -> ScimResult:
        group = _validated(Group, _parse_json(raw), Context.RESOURCE_CREATION_REQUEST)
        now = self.clock()
        stored = StoredGroup(
            id=new_id("grp"),
            tenant_id=self.tenant_id,
            display_name=str(group.display_name or ""),
            external_id=group.external_id,
            members=[],
            created_at=now,
            updated_at=now,
        )
        if not stored.display_name:
            raise InvalidValueException(detail="displayName is required.")
        wanted = _member_ids(group)
        return self._save_group(None, stored.model_copy(update={"members": wanted}), "group.created", None, 201)

    def get_group(self, group_id: str, query: Mapping[str, str]) -> ScimResult:
        return self._group_result(self._group(group_id), params=self._search(Group, query))

    def list_groups(self, query: Mapping[str, str]) -> ScimResult:
        params = self._search(Group, query)
        fast = _equality(params.filter, "displayName")
        if fast is not None:
            group_id = self.repo.group_id_for_name(self.tenant_id, name_key(fast))
            found = self.repo.group(self.tenant_id, group_id) if group_id else None
            stored = [found] if found else []
        else:
            stored = self.repo.list_groups(self.tenant_id)
        resources = [self._group_of(g) for g in stored]
        if params.filter is not None:
            resources = [r for r in resources if params.filter.match(r)]
        return self._page(Group, resources, params)

    def replace_group(self, group_id: str, raw: str | bytes | None, if_match: str | None) -> ScimResult:
        data = _parse_json(raw)
        current = self._group(group_id)
        _check_version(if_match, current.version)
        group = _validated(Group, data, Context.RESOURCE_REPLACEMENT_REQUEST)
        after = current.model_copy(
            update={
                "display_name": str(group.display_name or current.display_name),
                "external_id": group.external_id,
                "members": _member_ids(group),
                "updated_at": self.clock(),
            }
        )
        return self._save_group(current, after, "group.replaced", if_match)

    def patch_group(self, group_id: str, raw: str | bytes | None, if_match: str | None) -> ScimResult:
        data = _parse_json(raw)
        current = self._group(group_id)
        _check_version(if_match, current.version)
        patch = _validated(PatchOp[Group], data, Context.RESOURCE_PATCH_REQUEST)
        group = self._group_of(current)
        try:
            changed = patch.patch(group, scim_policy=POLICY)
        except ValidationError as exc:
            raise _validation_error(exc) from None
        if not changed:
            return self._group_result(current)
        after = current.model_copy(
            update={
                "display_name": str(group.display_name or current.display_name),
                "external_id": group.external_id,
                "members": _member_ids(group),
                "updated_at": self.clock(),
            }
        )
        return self._save_group(current, after, "group.patched", if_match)

    def delete_group(self, group_id: str, if_match: str | None) -> ScimResult:
        current = self._group(group_id)
        _check_version(if_match, current.version)
        self._save_group(current, None, "group.deleted", if_match)
        return ScimResult(204)

    def _save_group(
        self,
        before: StoredGroup | None,
        after: StoredGroup | None,
        action: str,
        if_match: str | None,
        status: int = 200,
    ) -> ScimResult:
        """Write the group and, in the same transaction, every member whose groups (and so grant) change."""
        old_members = set(before.members) if before else set()
        new_members = set(after.members) if after else set()
        affected = sorted(old_members ^ new_members)
        renamed = before is not None and after is not None and before.display_name != after.display_name
        if renamed and before is not None:
            affected = sorted(old_members | new_members)  # the grant may follow the name
        if len(affected) > MAX_MEMBER_CHANGES:
            raise InvalidValueException(
                detail=f"At most {MAX_MEMBER_CHANGES} members can be added or removed by one request; split it."
            )
        members = self.repo.members(self.tenant_id, affected)
        unknown = sorted(new_members - old_members - set(members))
        if unknown:
            raise InvalidValueException(detail=f"No user {unknown[0]} in this organisation.")
        group_id = (after or before).id  # type: ignore[union-attr]
        member_ops = self._regrant(members, group_id, after)
        names = (name_key(before.display_name) if before else "", name_key(after.display_name) if after else "")
        target = after or before
        assert target is not None
        summary = f"{target.display_name}: +{len(new_members - old_members)} -{len(old_members - new_members)} members"
        before_audit = _group_audited(before) if before else None
        after_audit = _group_audited(after) if after else None
        ops = member_ops + self._log_ops(action, group_id, summary, before_audit, after_audit)
        saved = after.model_copy(update={"version": before.version + 1 if before else 0}) if after else None
        try:
            self.repo.write_group(before, saved, names, ops)
        except Taken:
            raise UniquenessException(detail="Another group has this displayName.") from None
        except ConcurrentChange:
            raise _concurrent(if_match) from None
        logger.info("scim group written", extra={"tenant_id": self.tenant_id, "group_id": group_id})
        return self._group_result(saved, status) if saved else ScimResult(204)

    def _regrant(
        self, members: dict[str, Membership], group_id: str, group_after: StoredGroup | None
    ) -> list[dict[str, Any]]:
        """Update ops for the members whose groups change: their groups, and the role and accounts the owner's
        mappings give for them (owners keep theirs)."""
        all_group_ids = {g for m in members.values() for g in m.groups} | {group_id}
        names = {g.id: g.display_name for g in self.repo.groups(self.tenant_id, sorted(all_group_ids - {group_id}))}
        if group_after is not None:
            names[group_id] = group_after.display_name
        in_group = set(group_after.members) if group_after else set()
        now = self.clock()
        ops = []
        for user_id, member in sorted(members.items()):
            groups = [g for g in member.groups if g != group_id]
            if user_id in in_group:
                groups.append(group_id)
            role, accounts = grant_for(self.settings(), [names[g] for g in groups if g in names])
            if member.role == "owner":
                role, accounts = member.role, member.accounts
            after = member.model_copy(
                update={"groups": sorted(groups), "role": role, "accounts": accounts, "updated_at": now}
            )
            if after.groups != member.groups or after.role != member.role or after.accounts != member.accounts:
                ops.append(member_update_op(member, after))
        return ops

    # ---- lists -----------------------------------------------------------------------------------------------------
    def _search(self, model: type[Any], query: Mapping[str, str]) -> SearchRequest[Any]:
        data: dict[str, Any] = {}
        for name in ("filter", "startIndex", "count", "sortBy", "sortOrder"):
            if query.get(name) not in (None, ""):
                data[name] = query[name]
        for name in ("attributes", "excludedAttributes"):
            if query.get(name):
                data[name] = [a.strip() for a in query[name].split(",") if a.strip()]
        if "sortBy" in data:
            raise InvalidValueException(detail="Sorting is not supported (see ServiceProviderConfig).")
        return _validated(SearchRequest[model], data, Context.SEARCH_REQUEST)  # type: ignore[valid-type]

    @staticmethod
    def _page(model: type[Any], resources: list[Any], params: SearchRequest[Any]) -> ScimResult:
        start = max(params.start_index or 1, 1)
        count = MAX_RESULTS if params.count is None else min(max(params.count, 0), MAX_RESULTS)
        page = resources[start - 1 : start - 1 + count]
        response = ListResponse[model](  # type: ignore[valid-type]
            total_results=len(resources), start_index=start, items_per_page=len(page), resources=page
        )
        return ScimResult(200, response.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=params))

    # ---- discovery -------------------------------------------------------------------------------------------------
    def service_provider_config(self) -> ScimResult:
        config = ServiceProviderConfig(
            documentation_uri=None,
            patch=Patch(supported=True),
            bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
            filter=Filter(supported=True, max_results=MAX_RESULTS),
            change_password=ChangePassword(supported=False),
            sort=Sort(supported=False),
            etag=ETag(supported=True),
            authentication_schemes=[
                AuthenticationScheme.model_validate(
                    {
                        "type": "oauthbearertoken",
                        "name": "Bearer token",
                        "description": "The SCIM token the owner created (POST /provisioning/scim-token).",
                        "primary": True,
                    }
                )
            ],
            meta=Meta(resource_type="ServiceProviderConfig", location=f"{self.base_url}/ServiceProviderConfig"),
        )
        return ScimResult(200, config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))

    def resource_types(self, name: str | None = None) -> ScimResult:
        user_type = {
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "A member of the organisation",
            "schema": "urn:ietf:params:scim:schemas:core:2.0:User",
            "schemaExtensions": [
                {"schema": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "required": False}
            ],
            "meta": {"resourceType": "ResourceType", "location": f"{self.base_url}/ResourceTypes/User"},
        }
        group_type = {
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "A directory group; the owner maps groups to roles and accounts",
            "schema": "urn:ietf:params:scim:schemas:core:2.0:Group",
            "meta": {"resourceType": "ResourceType", "location": f"{self.base_url}/ResourceTypes/Group"},
        }
        types = {"User": ResourceType.model_validate(user_type), "Group": ResourceType.model_validate(group_type)}
        return self._discovery(ResourceType, types, name)

    def schemas(self, name: str | None = None) -> ScimResult:
        found = {}
        for model in (User, Group, EnterpriseUser):
            schema = model.to_schema()
            schema.meta = Meta(resource_type="Schema", location=f"{self.base_url}/Schemas/{schema.id}")
            found[str(schema.id)] = schema
        return self._discovery(type(next(iter(found.values()))), found, name)

    def _discovery(self, model: type[Any], items: Mapping[str, Any], name: str | None) -> ScimResult:
        if name is not None:
            if name not in items:
                raise NotFoundException(detail=f"No {model.__name__} {name}.")
            return ScimResult(200, items[name].model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
        resources = list(items.values())
        response = ListResponse[model](  # type: ignore[valid-type]
            total_results=len(resources), start_index=1, items_per_page=len(resources), resources=resources
        )
        return ScimResult(200, response.model_dump(scim_ctx=Context.SEARCH_RESPONSE))


def grant_for(settings: ProvisioningSettings, group_names: list[str]) -> tuple[str, list[str]]:
    """The role and accounts for a member of ``group_names``: the highest mapped role and the union of mapped
    accounts, or the defaults when no group is mapped."""
    wanted = {name_key(n) for n in group_names}
    mapped = [m for m in settings.group_mappings if name_key(m.group) in wanted]
    if not mapped:
        return settings.default_role, list(settings.default_accounts)
    role = max((m.role for m in mapped), key=ROLE_RANK.__getitem__)
    accounts = list(dict.fromkeys(a for m in mapped for a in m.accounts))
    return role, accounts


def _equality(filter_: Any, attribute: str) -> str | None:
    """The value of a filter that is exactly ``<attribute> eq "value"``, else None."""
    if filter_ is None:
        return None
    node = filter_.ast
    if (
        isinstance(node, Comparison)
        and node.op == CompareOperator.eq
        and node.attr_path.uri is None
        and node.attr_path.sub_attr is None
        and node.attr_path.attr.lower() == attribute.lower()
        and isinstance(node.value, str)
    ):
        return node.value
    return None


def _member_ids(group: Group) -> list[str]:
    ids = []
    for member in group.members or []:
        if member.type not in (None, "User"):
            raise InvalidValueException(detail="Only users can be group members here (no nested groups).")
        if not member.value:
            raise InvalidValueException(detail="A group member needs a value (the user's id).")
        ids.append(str(member.value))
    return sorted(set(ids))


def _audited(m: Membership) -> dict[str, Any]:
    return {"email": m.email, "status": m.status, "role": m.role, "accounts": list(m.accounts)}


def _group_audited(g: StoredGroup) -> dict[str, Any]:
    return {"display_name": g.display_name, "members": len(g.members)}


def _concurrent(if_match: str | None) -> SCIMException:
    if if_match:
        return PreconditionFailedException(detail="The resource changed since that version (ETag) was read.")
    return ConflictException(detail="The resource changed while this request ran; read it again and retry.")
