"""Rotating the SP's own signing key without an outage (the operator's ``sp_key_rotation`` function).

Three steps, each one new version of the secret (``gateways/sp_keys.py``):

1. ``stage``: a new key pair becomes ``next`` with its ``switch_at`` date. The metadata publishes both certificates
   from then on, AuthnRequests are still signed with ``current``, and the owners of every tenant whose connections
   sign their requests are told by mail to add the new certificate to their IdP before that date.
2. ``switch``: ``next`` becomes ``current`` (not before ``switch_at`` unless forced); the old current is kept as
   ``previous``, still published, so IdPs that cached the metadata and logins under way keep working. The signing
   functions pick the new key up within their cache window (``CACHE_SECONDS``).
3. ``retire``: ``previous`` goes. ``cancel`` drops a staged ``next`` before the switch.

Retries are safe: the secret remembers the last command's request id (a retry of it changes nothing more), and
each write's client request token derives from the version it was made from, so of two writers who read the same
version only one can succeed. What follows a write (the operator audit entry, the staged certificate the console
shows, the owners' notices) is keyed so that doing it twice does it once, and a retry does it again.
Nothing logged or audited carries key material: fingerprints and dates only.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes

from sso_core.clock import Clock, utcnow
from sso_core.config import Settings
from sso_core.dal.audit import AuditLog
from sso_core.dal.sp_keys import SpKeyRecords
from sso_core.dal.table import Table
from sso_core.dal.users import MembershipRepository
from sso_core.gateways.mail import Mailer, mailer_for, sp_key_rotation_mail
from sso_core.gateways.sp_keys import SpKeyMissing, SpKeyVersionTaken, read_state, write_state
from sso_core.models.audit import Actor
from sso_core.models.errors import ConcurrentChange, InvalidRequest
from sso_core.models.sp_keys import (
    DEFAULT_SWITCH_DAYS,
    MAX_SWITCH_DAYS,
    KeySummary,
    NextCertificate,
    NextKeyAlreadyStaged,
    NoNextKey,
    NoPreviousKey,
    PreviousKeyNotRetired,
    SpKeyStatus,
    SwitchTooEarly,
)
from sso_core.observability import logger
from sso_core.saml.certificates import generate_sp_keypair, load_certificate

OPERATOR_LOG = "sp_key"
# Client request tokens are uuid5(this, "<action>:<version read>"): the same transition always has the same token.
TOKEN_NAMESPACE = uuid.UUID("0b6f7a52-3f0e-4c55-9a57-5d1f2a7c9e10")

Change = Callable[[dict[str, Any], datetime], dict[str, Any]]


def fingerprint(cert_pem: str) -> str:
    return load_certificate(cert_pem).fingerprint(hashes.SHA256()).hex(":").upper()


def _summary(cert_pem: str) -> KeySummary:
    return KeySummary(fingerprint=fingerprint(cert_pem), not_after=load_certificate(cert_pem).not_valid_after_utc)


def _next_certificate(data: dict[str, Any]) -> NextCertificate | None:
    nxt = data.get("next")
    if not nxt:
        return None
    cert = load_certificate(nxt["cert_pem"])
    return NextCertificate(
        fingerprint=fingerprint(nxt["cert_pem"]),
        not_after=cert.not_valid_after_utc,
        switch_at=datetime.fromisoformat(nxt["switch_at"]),
    )


def _public(data: dict[str, Any]) -> dict[str, Any]:
    """What the audit log keeps of the secret: fingerprints and dates, never a key."""
    staged = _next_certificate(data)
    previous = data.get("previous")
    return {
        "current": fingerprint(data["current"]["cert_pem"]),
        "next": staged.model_dump(mode="json") if staged else None,
        "previous": fingerprint(previous["cert_pem"]) if previous else None,
    }


def _status(data: dict[str, Any], message: str = "") -> SpKeyStatus:
    previous = data.get("previous")
    return SpKeyStatus(
        current=_summary(data["current"]["cert_pem"]),
        next=_next_certificate(data),
        previous=_summary(previous["cert_pem"]) if previous else None,
        message=message,
    )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class SpKeyRotation:
    def __init__(self, settings: Settings, table: Table, clock: Clock = utcnow, mailer: Mailer | None = None) -> None:
        self.settings = settings
        self.table = table
        self.clock = clock
        self.mailer = mailer
        self.records = SpKeyRecords(table)
        self.audit = AuditLog(table)

    @property
    def secret_id(self) -> str:
        if not self.settings.sp_key_secret_id:
            raise SpKeyMissing()
        return self.settings.sp_key_secret_id

    # ---- the commands --------------------------------------------------------------------------------------
    def show(self) -> SpKeyStatus:
        return _status(read_state(self.secret_id).data)

    def stage(
        self, operator: str, request_id: str, switch_at: datetime | None = None, days: int | None = None
    ) -> SpKeyStatus:
        now = self.clock()
        if switch_at is not None and days is not None:
            raise InvalidRequest("Give switch_at or days, not both.")
        if switch_at is not None:
            when = _utc(switch_at)
        else:
            when = now + timedelta(days=DEFAULT_SWITCH_DAYS if days is None else days)
        if when < now:
            raise InvalidRequest("switch_at must not be in the past.")
        if when > now + timedelta(days=MAX_SWITCH_DAYS):
            raise InvalidRequest(f"switch_at must be within {MAX_SWITCH_DAYS} days.")
        host = urlsplit(self.settings.public_url).hostname or "sso"

        def change(data: dict[str, Any], at: datetime) -> dict[str, Any]:
            if data.get("next"):
                raise NextKeyAlreadyStaged()
            if data.get("previous"):
                raise PreviousKeyNotRetired()
            key_pem, cert_pem = generate_sp_keypair(host, at)
            staged = {"key_pem": key_pem, "cert_pem": cert_pem, "switch_at": when.isoformat()}
            return {**data, "next": {**staged, "staged_at": at.isoformat()}}

        data, again = self._apply("stage", operator, request_id, change)
        staged = _next_certificate(data)
        assert staged is not None
        self.records.publish_staged(staged)
        sent, already = self._notify(data)
        message = (
            f"The next SP signing key is staged and published in the metadata; switch to it from {staged.switch_at}."
        )
        out = _status(data, "Already done (a retry of the same command). " + message if again else message)
        return out.model_copy(update={"owners_notified": sent, "owners_already_notified": already})

    def switch(self, operator: str, request_id: str, force: bool = False) -> SpKeyStatus:
        def change(data: dict[str, Any], at: datetime) -> dict[str, Any]:
            nxt = data.get("next")
            if not nxt:
                raise NoNextKey()
            if data.get("previous"):
                raise PreviousKeyNotRetired()
            switch_at = datetime.fromisoformat(nxt["switch_at"])
            if at < switch_at and not force:
                raise SwitchTooEarly(
                    f"The staged SP signing key may be switched to from {switch_at.isoformat()}: owners were told "
                    "to add it to their IdP by then. Use force to switch anyway."
                )
            return {
                **data,
                "current": {"key_pem": nxt["key_pem"], "cert_pem": nxt["cert_pem"]},
                "next": None,
                # No key: nothing signs with it any more; its certificate stays in the metadata until retired.
                "previous": {"cert_pem": data["current"]["cert_pem"], "switched_at": at.isoformat()},
            }

        data, again = self._apply("switch", operator, request_id, change)
        self.records.clear_staged()
        message = (
            "Switched: AuthnRequests are signed with the new key once each function's cache expires (at most "
            "5 minutes). The previous certificate stays in the metadata until you retire it."
        )
        return _status(data, "Already done (a retry of the same command). " + message if again else message)

    def retire(self, operator: str, request_id: str) -> SpKeyStatus:
        def change(data: dict[str, Any], at: datetime) -> dict[str, Any]:
            if not data.get("previous"):
                raise NoPreviousKey()
            return {**data, "previous": None}

        data, again = self._apply("retire", operator, request_id, change)
        message = "The previous SP signing certificate is no longer published."
        return _status(data, "Already done (a retry of the same command). " + message if again else message)

    def cancel(self, operator: str, request_id: str) -> SpKeyStatus:
        def change(data: dict[str, Any], at: datetime) -> dict[str, Any]:
            if not data.get("next"):
                raise NoNextKey()
            return {**data, "next": None}

        data, again = self._apply("cancel", operator, request_id, change)
        self.records.clear_staged()
        message = "The staged SP signing key was dropped; the current one keeps signing."
        return _status(data, "Already done (a retry of the same command). " + message if again else message)

    def notify(self) -> SpKeyStatus:
        """Sends the notices of the staged key to the owners not told yet (after a stage that stopped half-way)."""
        data = read_state(self.secret_id).data
        if not data.get("next"):
            raise NoNextKey()
        sent, already = self._notify(data)
        return _status(data, f"{sent} owner(s) told now, {already} already told.").model_copy(
            update={"owners_notified": sent, "owners_already_notified": already}
        )

    # ---- one step: write the secret once, then record it ---------------------------------------------------
    def _apply(self, action: str, operator: str, request_id: str, change: Change) -> tuple[dict[str, Any], bool]:
        """Applies ``change`` to the stored secret as a new version and audits it; (data, True) when the same
        command (action and request id) went through before, in which case only the audit entry is made sure of."""
        state = read_state(self.secret_id)
        if self._same_command(state.data, action, request_id):
            self._audit(state.data)
            return state.data, True
        now = self.clock()
        before = _public(state.data)
        data = change(dict(state.data), now)
        data["last_request"] = {
            "seq": int((state.data.get("last_request") or {}).get("seq", 0)) + 1,  # orders the operator log
            "id": request_id,
            "action": action,
            "operator": operator,
            "at": now.isoformat(),
            "before": before,
        }
        token = str(uuid.uuid5(TOKEN_NAMESPACE, f"{action}:{state.version_id}"))
        try:
            write_state(self.secret_id, data, token)
        except SpKeyVersionTaken:
            latest = read_state(self.secret_id)
            if self._same_command(latest.data, action, request_id):  # our own earlier attempt got through
                self._audit(latest.data)
                return latest.data, True
            raise ConcurrentChange(
                "Another SP key command changed the key at the same time; show it and retry."
            ) from None
        logger.info(f"SP signing key {action}", extra={"operator": operator, "request_id": request_id, **_public(data)})
        self._audit(data)
        return data, False

    @staticmethod
    def _same_command(data: dict[str, Any], action: str, request_id: str) -> bool:
        last = data.get("last_request") or {}
        return bool(request_id) and last.get("id") == request_id and last.get("action") == action

    def _audit(self, data: dict[str, Any]) -> None:
        last = data["last_request"]
        self.audit.put_operator_entry(
            OPERATOR_LOG,
            hashlib.sha256(f"{last['action']}:{last['id']}".encode()).hexdigest()[:12],
            int(last.get("seq", 0)),
            Actor("operator", last["operator"], "operator"),
            f"sp_key.{last['action']}",
            "sp_signing_key",
            last.get("before"),
            _public(data),
            datetime.fromisoformat(last["at"]),
        )

    # ---- owners told ---------------------------------------------------------------------------------------
    def _notify(self, data: dict[str, Any]) -> tuple[int, int]:
        staged = _next_certificate(data)
        if staged is None:
            return 0, 0
        tenants: dict[str, str] = {}  # tenant -> one of its connections that signs requests (the download link)
        for tenant_id, connection_id in self.records.signed_request_connections():
            tenants.setdefault(tenant_id, connection_id)
        mailer = self.mailer or mailer_for(self.settings)
        members = MembershipRepository(self.table)
        sent = already = 0
        for tenant_id, connection_id in sorted(tenants.items()):
            owners = [m for m in members.list_for_tenant(tenant_id) if m.role == "owner" and m.status == "active"]
            for owner in owners:
                if not self.records.claim_notice(tenant_id, staged.fingerprint, owner.email, self.clock()):
                    already += 1
                    continue
                mail = sp_key_rotation_mail(
                    to=owner.email,
                    tenant_name=tenant_id,
                    fingerprint=staged.fingerprint,
                    certificate_url=f"{self.settings.public_url}/saml/{connection_id}/certificate?which=next",
                    switch_at=staged.switch_at,
                )
                try:
                    mailer.send(mail)
                    sent += 1
                except Exception as exc:  # noqa: BLE001 - one lost mail must not stop the others; notify retries
                    self.records.release_notice(tenant_id, staged.fingerprint, owner.email)
                    logger.error(
                        "SP key notice not sent", extra={"tenant_id": tenant_id, "error_type": type(exc).__name__}
                    )
        logger.info("SP key notices", extra={"tenants": len(tenants), "sent": sent, "already_sent": already})
        return sent, already
