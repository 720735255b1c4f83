"""Invitations: an admin invites an email with a role and accounts; the holder of the mailed link accepts.

Tokens carry 256 bits from ``secrets`` and are stored only as their SHA-256 (hex); the token is looked up
by that hash and never logged. Accepting is one transaction (``dal.invitations``), so a token is used at
most once even when it is posted twice at the same moment.

Every change is audited in the transaction that makes it: ``invitation.created``, ``invitation.resent``,
``invitation.revoked``, ``invitation.accepted`` (by the invitee: a public actor named by the invited email),
and ``invitation.discarded`` when the mail of a new invitation could not be sent. Entries hold the email,
role, accounts, status and expiry, never a token or its hash.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer

from sso_core.clock import Clock, utcnow
from sso_core.config import Settings
from sso_core.dal.audit import AuditLog
from sso_core.dal.invitations import InvitationRepository, PendingExists, TransactionConflict
from sso_core.dal.mail_limits import MailLimitRepository, QuotaExceeded
from sso_core.dal.table import InvalidCursor, Table
from sso_core.dal.users import MembershipRepository
from sso_core.gateways.mail import Mailer, header_value, invitation_mail
from sso_core.logic.login_routing import sso_connection_for_email
from sso_core.logic.memberships import check_grant
from sso_core.models.audit import Actor
from sso_core.models.emails import normalise_email
from sso_core.models.errors import ConcurrentChange, Conflict, DomainError, InvalidRequest
from sso_core.models.identity import Caller
from sso_core.models.invitations import (
    AcceptOut,
    CreateInvitationRequest,
    IdempotencyKeyReused,
    Invitation,
    InvitationCreated,
    InvitationList,
    InvitationNotFound,
    InvitationNotPending,
    InvitationOut,
    InvitationPreview,
    InvitationStatus,
    InvitationUnusable,
    ListFilter,
    MailNotSent,
    RequestInProgress,
)
from sso_core.models.users import AlreadyMember, Membership, RoleEscalation
from sso_core.observability import logger

TOKEN_BYTES = 32  # 256 bits
INVITATION_ID = re.compile(r"inv_[0-9a-f]{32}")


class InvitationLimitReached(DomainError):
    status = 429
    code = "invitation_limit_reached"
    default_message = "The daily limit of invitation mail is reached; try again tomorrow (UTC)."


class AddressSuppressed(Conflict):
    code = "address_suppressed"
    default_message = "Mail to this address bounced or was reported as spam; it is not mailed again."


def plausible_invitation_id(invitation_id: str) -> bool:
    return INVITATION_ID.fullmatch(invitation_id) is not None  # "^...$" with match() allows a trailing newline


LIST_FILTERS: tuple[ListFilter, ...] = ("pending", "accepted", "revoked", "expired")
MAX_IDEMPOTENCY_KEY = 255
IDEMPOTENCY_SECONDS = 24 * 3600
ATTEMPTS = 3  # re-reads after a transaction conflict


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", errors="replace")).hexdigest()


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


def idempotency_store(settings: Settings, table: Table) -> DynamoDBPersistenceLayer:
    """Powertools idempotency records in the service's own table (pk IDEMPOTENCY#invitations, TTL ``ttl``)."""
    return DynamoDBPersistenceLayer(
        table_name=settings.table_name,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value="IDEMPOTENCY#invitations",
        expiry_attr="ttl",
        boto3_client=table.client,
    )


class InvitationService:
    def __init__(
        self,
        settings: Settings,
        table: Table,
        mailer: Mailer,
        clock: Clock = utcnow,
        token_factory: Callable[[], str] = new_token,
        idempotency: BasePersistenceLayer | None = None,
    ) -> None:
        self.settings = settings
        self.table = table
        self.repo = InvitationRepository(table)
        self.members = MembershipRepository(table)
        self.mailer = mailer
        self.clock = clock
        self.token_factory = token_factory
        self.audit = AuditLog(table)
        # The key is the Idempotency-Key header within the tenant; the body is validated against the first
        # request's, so a key reused with another body is refused instead of silently answering the old one.
        self.idempotency_config = IdempotencyConfig(
            event_key_jmespath="[tenant_id, key]",
            payload_validation_jmespath="body",
            expires_after_seconds=IDEMPOTENCY_SECONDS,
            hash_function="sha256",
        )
        self._create_once = idempotent_function(
            self._create_keyed,
            data_keyword_argument="idempotency",
            persistence_store=idempotency or idempotency_store(settings, table),
            config=self.idempotency_config,
            output_serializer=PydanticSerializer(InvitationCreated),
            key_prefix="invitations.create",
        )

    def bind_lambda_context(self, context: Any) -> None:
        """Lets the idempotency layer expire an in-progress record if this invocation times out."""
        if context is not None and hasattr(context, "get_remaining_time_in_millis"):
            self.idempotency_config.register_lambda_context(context)

    # ---- presentation ---------------------------------------------------------------------
    def to_out(self, inv: Invitation) -> InvitationOut:
        return InvitationOut(
            id=inv.id,
            email=inv.email,
            role=inv.role,
            accounts=inv.accounts,
            status=inv.shown_status(self.clock()),
            expires_at=inv.expires_at,
            created_at=inv.created_at,
            invited_by=inv.invited_by,
            sent_count=inv.sent_count,
            last_sent_at=inv.last_sent_at,
            accepted_at=inv.accepted_at,
            revoked_at=inv.revoked_at,
            user_id=inv.user_id,
        )

    def accept_link(self, token: str) -> str:
        base = self.settings.accept_url
        return f"{base}{'&' if '?' in base else '?'}token={quote(token, safe='')}"

    # ---- admin routes ---------------------------------------------------------------------
    def create(
        self,
        caller: Caller,
        request: CreateInvitationRequest,
        tenant_name: str = "",
        idempotency_key: str | None = None,
    ) -> InvitationCreated:
        """Invite an email; an email with a pending invitation gets that one back (created False).

        With an idempotency key, a retry of the same request (same tenant, key and body) answers what the
        first one answered and sends no second mail.
        """
        if not idempotency_key:
            return self._create(caller, request, tenant_name)
        if len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
            raise InvalidRequest(f"The Idempotency-Key header is at most {MAX_IDEMPOTENCY_KEY} characters.")
        payload = {"tenant_id": caller.tenant_id, "key": idempotency_key, "body": request.model_dump(mode="json")}
        try:
            result: InvitationCreated = self._create_once(caller, request, tenant_name, idempotency=payload)
        except IdempotencyValidationError:
            raise IdempotencyKeyReused() from None
        except IdempotencyAlreadyInProgressError:
            raise RequestInProgress() from None
        return result

    def _create_keyed(
        self, caller: Caller, request: CreateInvitationRequest, tenant_name: str, *, idempotency: dict[str, Any]
    ) -> InvitationCreated:
        return self._create(caller, request, tenant_name)

    def _create(self, caller: Caller, request: CreateInvitationRequest, tenant_name: str) -> InvitationCreated:
        email = normalise_email(request.email)
        role, accounts = check_grant(caller, request.role, request.accounts)
        if self.members.user_id_for_email(caller.tenant_id, email) is not None:
            raise AlreadyMember()
        for _ in range(ATTEMPTS):
            existing = self.repo.pending_for_email(caller.tenant_id, email)
            if existing is not None and existing.status is InvitationStatus.PENDING:
                return self._existing(caller, existing)
            self._may_mail(caller, email)
            now = self.clock()
            token = self.token_factory()
            inv = Invitation(
                id=new_id("inv"),
                tenant_id=caller.tenant_id,
                tenant_name=_clean_name(tenant_name) or caller.tenant_id,
                email=email,
                role=role,  # type: ignore[arg-type]  # checked by check_grant
                accounts=accounts,
                token_hash=hash_token(token),
                created_at=now,
                expires_at=now + timedelta(hours=self.settings.invite_expiry_hours),
                invited_by=caller.email,
                last_sent_at=now,
            )
            created = self.audit.put_op(inv.tenant_id, caller, "invitation.created", inv.id, None, _audited(inv), now)
            try:
                self.repo.create(inv, [created])
            except (PendingExists, TransactionConflict):
                continue  # another request invited this email meanwhile; answer with its invitation
            try:
                self._send(inv, token)
            except MailNotSent:
                self._discard(caller, inv)
                raise
            logger.info("invitation created", extra={"tenant_id": inv.tenant_id, "invitation_id": inv.id})
            return InvitationCreated(created=True, invitation=self.to_out(inv))
        raise ConcurrentChange()

    def _existing(self, caller: Caller, existing: Invitation) -> InvitationCreated:
        if existing.usable_at(self.clock()):
            return InvitationCreated(created=False, invitation=self.to_out(existing))
        # Pending but expired: inviting again renews it with a fresh link rather than making a second one.
        return InvitationCreated(created=False, invitation=self._resend(caller, existing))

    def _may_mail(self, caller: Caller, email: str) -> None:
        """Refuse an address SES reported (bounce, complaint), then count the mail against today's budgets.
        Counted before anything is written: over a limit, nothing is stored and nothing is sent."""
        limits = MailLimitRepository(self.table)
        if limits.suppressed(email) is not None:
            raise AddressSuppressed()
        try:
            limits.count_invitation_mail(
                caller.tenant_id,
                caller.email,
                self.clock(),
                self.settings.invite_daily_limit_tenant,
                self.settings.invite_daily_limit_inviter,
            )
        except QuotaExceeded as exc:
            limit = (
                self.settings.invite_daily_limit_tenant
                if exc.scope == "tenant"
                else self.settings.invite_daily_limit_inviter
            )
            who = "this organisation" if exc.scope == "tenant" else "you"
            raise InvitationLimitReached(
                f"Invitation mail is limited to {limit} per day for {who}; try again tomorrow (UTC)."
            ) from None

    def _discard(self, caller: Caller, inv: Invitation) -> None:
        discarded = self.audit.put_op(
            inv.tenant_id, caller, "invitation.discarded", inv.id, _audited(inv), {"reason": "mail_not_sent"}
        )
        try:
            self.repo.discard(inv, [discarded])
        except Exception:  # noqa: BLE001 - the mail error is what the caller must see
            logger.exception("could not discard unsent invitation", extra={"invitation_id": inv.id})

    def _send(self, inv: Invitation, token: str) -> None:
        mail = invitation_mail(
            to=inv.email,
            tenant_name=inv.tenant_name or inv.tenant_id,
            inviter=inv.invited_by,
            role=inv.role,
            accept_link=self.accept_link(token),
            expires_at=inv.expires_at,
        )
        try:
            self.mailer.send(mail)
        except Exception as exc:
            logger.error(
                "invitation mail failed",
                extra={"tenant_id": inv.tenant_id, "invitation_id": inv.id, "error_type": type(exc).__name__},
            )
            raise MailNotSent() from exc

    def list(
        self, caller: Caller, status: str | None = None, limit: int = 50, cursor: str | None = None
    ) -> InvitationList:
        """One page of the caller's tenant's invitations (``status`` filtered), newest first."""
        if status is not None and status not in LIST_FILTERS:
            raise InvalidRequest(f"status must be one of {', '.join(LIST_FILTERS)}.")
        now = self.clock()
        try:
            found, next_cursor = self.repo.page(
                caller.tenant_id, limit, cursor, None if status is None else lambda i: i.shown_status(now) == status
            )
        except InvalidCursor:
            raise InvalidRequest("The cursor is not valid.") from None
        return InvitationList(invitations=[self.to_out(i) for i in found], next_cursor=next_cursor)

    def _get(self, caller: Caller, invitation_id: str) -> Invitation:
        if not plausible_invitation_id(invitation_id):
            raise InvitationNotFound()
        inv = self.repo.get(caller.tenant_id, invitation_id)
        if inv is None:
            raise InvitationNotFound()
        return inv

    def revoke(self, caller: Caller, invitation_id: str) -> None:
        """Pending (or expired) to revoked: its link stops working at once. Revoking twice is fine."""
        inv = self._get(caller, invitation_id)
        if not caller.at_least(inv.role):
            raise RoleEscalation()
        if inv.status is InvitationStatus.REVOKED:
            return
        if inv.status is not InvitationStatus.PENDING:
            raise InvitationNotPending()
        now = self.clock()
        revoked = self.audit.put_op(
            inv.tenant_id,
            caller,
            "invitation.revoked",
            inv.id,
            _audited(inv),
            _audited(inv.model_copy(update={"status": InvitationStatus.REVOKED})),
            now,
        )
        self.repo.revoke(inv, now, [revoked])
        logger.info("invitation revoked", extra={"tenant_id": inv.tenant_id, "invitation_id": inv.id})

    def resend(self, caller: Caller, invitation_id: str) -> InvitationOut:
        """A new link (and a new expiry) by mail; the previous link stops working."""
        return self._resend(caller, self._get(caller, invitation_id))

    def _resend(self, caller: Caller, inv: Invitation) -> InvitationOut:
        if not caller.at_least(inv.role):
            raise RoleEscalation()
        if inv.status is not InvitationStatus.PENDING:
            raise InvitationNotPending()
        self._may_mail(caller, inv.email)
        now = self.clock()
        token = self.token_factory()
        renewed = inv.model_copy(
            update={
                "token_hash": hash_token(token),
                "expires_at": now + timedelta(hours=self.settings.invite_expiry_hours),
                "sent_count": inv.sent_count + 1,
                "last_sent_at": now,
            }
        )
        resent = self.audit.put_op(
            inv.tenant_id,
            caller,
            "invitation.resent",
            inv.id,
            {"expires_at": inv.expires_at.isoformat(), "sent_count": inv.sent_count},
            {"expires_at": renewed.expires_at.isoformat(), "sent_count": renewed.sent_count},
            now,
        )
        saved = self.repo.rotate_token(inv, renewed, [resent])
        # Committed first: a mail never carries a link that is not stored. If the mail fails, the old link
        # is already dead and the admin resends again.
        self._send(saved, token)
        logger.info("invitation resent", extra={"tenant_id": inv.tenant_id, "invitation_id": inv.id})
        return self.to_out(saved)

    # ---- public: the invited person -------------------------------------------------------
    def _usable(self, token: str) -> tuple[Invitation, str]:
        token_hash = hash_token(token)
        inv = self.repo.by_token_hash(token_hash)
        if inv is None or inv.token_hash != token_hash or not inv.usable_at(self.clock()):
            raise InvitationUnusable()
        return inv, token_hash

    def preview(self, token: str) -> InvitationPreview:
        """What the accept page shows; reading it does not use the token."""
        inv, _ = self._usable(token)
        return InvitationPreview(
            email=inv.email, tenant_name=inv.tenant_name or inv.tenant_id, role=inv.role, expires_at=inv.expires_at
        )

    def accept(self, token: str) -> AcceptOut:
        """Use the token: the invitation becomes accepted and the membership exists, both or neither."""
        for _ in range(ATTEMPTS):
            try:
                inv, token_hash = self._usable(token)
            except InvitationUnusable:
                logger.info("invitation token refused")
                raise
            now = self.clock()
            membership = Membership(
                user_id=new_id("usr"),
                tenant_id=inv.tenant_id,
                email=inv.email,
                role=inv.role,
                accounts=inv.accounts,
                created_at=now,
                invited_by=inv.invited_by,
                invitation_id=inv.id,
            )
            accepted = self.audit.put_op(
                inv.tenant_id,
                Actor("public", inv.email),
                "invitation.accepted",
                inv.id,
                {"status": InvitationStatus.PENDING.value},
                {
                    "status": InvitationStatus.ACCEPTED.value,
                    "user_id": membership.user_id,
                    "email": inv.email,
                    "role": inv.role,
                    "accounts": inv.accounts,
                },
                now,
            )
            try:
                self.repo.accept(inv, token_hash, membership, now, [accepted])
            except TransactionConflict:
                continue  # a concurrent accept or resend; re-read decides
            logger.info(
                "invitation accepted",
                extra={"tenant_id": inv.tenant_id, "invitation_id": inv.id, "user_id": membership.user_id},
            )
            return AcceptOut(
                email=inv.email,
                tenant_id=inv.tenant_id,
                tenant_name=inv.tenant_name or inv.tenant_id,
                user_id=membership.user_id,
                next="sso" if sso_connection_for_email(self.table, inv.email) is not None else "password",
            )
        raise ConcurrentChange()


def _audited(inv: Invitation) -> dict[str, Any]:
    """What an audit entry keeps of an invitation: never its token or the token's hash."""
    return {
        "email": inv.email,
        "role": inv.role,
        "accounts": list(inv.accounts),
        "status": inv.status.value,
        "expires_at": inv.expires_at.isoformat(),
    }


def _clean_name(name: str) -> str:
    return header_value(name)[:200]
