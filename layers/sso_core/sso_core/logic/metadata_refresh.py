"""The daily refresh of IdP metadata imported from a URL (the scheduled ``metadata_refresh`` function).

For each connection whose refresh is due (a keyed read of the sparse ``due-checks`` partition, never a scan):

- the URL is fetched and parsed exactly as the import does (``gateways/metadata_fetch.py``, ``saml/idp_import``);
- a fetch or parse that fails changes NOTHING of the IdP configuration: the connection records ``refresh_error``
  and ``refresh_failed_at`` (the API shows a warning), and the run logs and counts it;
- new signing certificates are added at once; a stored certificate missing from the metadata is kept for a grace
  period (``metadata_cert_grace_hours``, 7 days) counted from ``missing_since``, then retired; one that comes back
  within the grace period simply stays;
- a changed entity ID or SSO URL is applied;
- at most 5 certificates: the ones the metadata publishes win (in its order), then those in their grace period,
  the most recently published first; a grace certificate that does not fit is retired early;
- every change is one write conditioned on the connection's version (a concurrent admin edit wins; the refresh
  reads again and decides again), audited as ``connection.idp_refreshed``, and the tenant's owners are mailed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import hashes
from pydantic import BaseModel

from sso_core.clock import Clock, utcnow
from sso_core.config import Settings
from sso_core.dal.audit import AuditLog
from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.table import Table
from sso_core.dal.users import MembershipRepository
from sso_core.gateways.mail import Mailer, idp_metadata_changed_mail, mailer_for
from sso_core.gateways.metadata_fetch import fetch_metadata
from sso_core.logic.certificate_expiry import index_ops
from sso_core.logic.sso_configuration import MAX_IDP_CERTIFICATES, fetch_policy, idp_from_metadata, idp_summary
from sso_core.models.audit import Actor
from sso_core.models.connections import Connection, IdpConfig
from sso_core.models.errors import ConcurrentChange, DomainError
from sso_core.observability import logger
from sso_core.saml.certificates import load_certificate

MAX_CERTIFICATES = MAX_IDP_CERTIFICATES
REFRESH_ACTOR = Actor.system("metadata refresh")
SAVE_ATTEMPTS = 3


def fingerprint(pem: str) -> str:
    return load_certificate(pem).fingerprint(hashes.SHA256()).hex()


class RefreshSummary(BaseModel):
    due: int = 0
    unchanged: int = 0
    changed: int = 0
    failed: int = 0
    skipped: int = 0
    certificates_added: int = 0
    certificates_retired: int = 0
    owners_mailed: int = 0
    stopped_early: bool = False


@dataclass
class Changes:
    added: list[str] = field(default_factory=list)  # fingerprints
    retired: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # newly found missing (grace starts)
    entity_id: tuple[str, str] | None = None
    sso_url: tuple[str, str] | None = None

    @property
    def any(self) -> bool:
        return bool(self.added or self.retired or self.missing or self.entity_id or self.sso_url)

    def lines(self, grace: timedelta) -> list[str]:
        days = grace.total_seconds() / 86400
        out = [f"Signing certificate added: SHA-256 {fp}" for fp in self.added]
        out += [
            f"Signing certificate no longer published (kept for {days:g} more days, then removed): SHA-256 {fp}"
            for fp in self.missing
        ]
        out += [f"Signing certificate removed: SHA-256 {fp}" for fp in self.retired]
        if self.entity_id:
            out.append(f"Entity ID changed from {self.entity_id[0]} to {self.entity_id[1]}")
        if self.sso_url:
            out.append(f"Sign-in URL changed from {self.sso_url[0]} to {self.sso_url[1]}")
        return out


def merge(stored: IdpConfig, fresh: IdpConfig, now: datetime, grace: timedelta) -> tuple[IdpConfig, Changes]:
    """The stored IdP updated from freshly read metadata, under the grace and limit rules above."""
    changes = Changes()
    fresh_fps = [fingerprint(p) for p in fresh.certificates]
    stored_fps = {fingerprint(p): p for p in stored.certificates}
    published = list(dict(zip(fresh_fps, fresh.certificates, strict=True)).items())[:MAX_CERTIFICATES]
    changes.added = [fp for fp, _ in published if fp not in stored_fps]
    missing_since: dict[str, datetime] = {}
    in_grace: list[tuple[datetime, str, str]] = []
    for fp, pem in stored_fps.items():
        if fp in fresh_fps:
            continue
        since = stored.missing_since.get(fp)
        if since is None:
            since = now
            changes.missing.append(fp)
        if now - since >= grace:
            changes.retired.append(fp)
        else:
            in_grace.append((since, fp, pem))
    in_grace.sort(key=lambda entry: entry[0], reverse=True)  # most recently published first
    room = MAX_CERTIFICATES - len(published)
    for _since, fp, _pem in in_grace[max(room, 0) :]:
        changes.retired.append(fp)
        if fp in changes.missing:
            changes.missing.remove(fp)
    kept = in_grace[: max(room, 0)]
    for since, fp, _ in kept:
        missing_since[fp] = since
    changes.missing = [fp for fp in changes.missing if fp not in changes.retired]
    if fresh.entity_id != stored.entity_id:
        changes.entity_id = (stored.entity_id, fresh.entity_id)
    if fresh.sso_urls != stored.sso_urls or fresh.sso_url != stored.sso_url:
        changes.sso_url = (stored.sso_url, fresh.sso_url)
    merged = stored.model_copy(
        update={
            "entity_id": fresh.entity_id,
            "sso_url": fresh.sso_url,
            "sso_urls": fresh.sso_urls,
            "certificates": [pem for _, pem in published] + [pem for _, _, pem in kept],
            "missing_since": missing_since,
            "refreshed_at": now,
            "refresh_error": None,
            "refresh_failed_at": None,
        }
    )
    return merged, changes


class MetadataRefreshService:
    def __init__(
        self,
        settings: Settings,
        table: Table,
        clock: Clock = utcnow,
        mailer: Mailer | None = None,
        fetch: Callable[[str], str] | None = None,
    ) -> None:
        self.settings = settings
        self.table = table
        self.repo = ConnectionRepository(table)
        self.audit = AuditLog(table)
        self.clock = clock
        self.mailer = mailer
        self.fetch = fetch or (lambda url: fetch_metadata(url, fetch_policy(settings)))
        self.grace = timedelta(hours=settings.metadata_cert_grace_hours)

    def run(self, time_left_ms: Callable[[], int] | None = None, now: datetime | None = None) -> RefreshSummary:
        """Refresh every connection that is due; stops early (the next run continues) when time runs short."""
        now = now or self.clock()
        summary = RefreshSummary()
        for page in self.repo.due_for_refresh(now):
            for connection_id in page:
                if time_left_ms is not None and time_left_ms() < 20_000:  # a fetch takes at most ~5 s; keep room
                    summary.stopped_early = True
                    return summary
                summary.due += 1
                self.refresh_one(connection_id, now, summary)
        return summary

    def refresh_one(self, connection_id: str, now: datetime, summary: RefreshSummary) -> None:
        conn = self.repo.get(connection_id)
        if conn is None or conn.idp is None or conn.idp.source != "metadata_url" or not conn.idp.metadata_url:
            summary.skipped += 1
            return
        url = conn.idp.metadata_url
        log = {"tenant_id": conn.tenant_id, "connection_id": conn.id}
        try:
            fresh, _ = idp_from_metadata(self.fetch(url), now, self.settings.allow_http_loopback_idp, "metadata_url")
        except DomainError as exc:
            self.repo.record_refresh_failure(conn, exc.message, now)
            summary.failed += 1
            logger.warning("metadata refresh failed", extra={**log, "code": exc.code})
            return
        for _attempt in range(SAVE_ATTEMPTS):
            assert conn.idp is not None
            merged, changes = merge(conn.idp, fresh, now, self.grace)
            ops = []
            if changes.any:
                ops.append(
                    self.audit.put_op(
                        conn.tenant_id,
                        REFRESH_ACTOR,
                        "connection.idp_refreshed",
                        conn.id,
                        idp_summary(conn.idp),
                        {
                            **(idp_summary(merged) or {}),
                            "certificates_added": changes.added,
                            "certificates_missing": changes.missing,
                            "certificates_retired": changes.retired,
                        },
                        now,
                    )
                )
            updated = conn.model_copy(update={"idp": merged, "updated_at": now})
            ops.extend(index_ops(conn, updated))  # the expiry index follows the certificates, same transaction
            try:
                self.repo.save(updated, conn.version, ops)
                break
            except ConcurrentChange:
                latest = self.repo.get(connection_id)  # a login, or an admin's edit: read again, decide again
                if latest is None or latest.idp is None or latest.idp.metadata_url != url:
                    summary.skipped += 1
                    return
                conn = latest
        else:
            summary.failed += 1
            logger.warning("metadata refresh lost to concurrent changes", extra=log)
            return
        if not changes.any:
            summary.unchanged += 1
            return
        summary.changed += 1
        summary.certificates_added += len(changes.added)
        summary.certificates_retired += len(changes.retired)
        logger.info(
            "metadata refresh changed the IdP",
            extra={**log, "added": len(changes.added), "retired": len(changes.retired)},
        )
        summary.owners_mailed += self._tell_owners(conn, changes)

    def _tell_owners(self, conn: Connection, changes: Changes) -> int:
        owners = [
            m
            for m in MembershipRepository(self.table).list_for_tenant(conn.tenant_id)
            if m.role == "owner" and m.status == "active"
        ]
        mailer = self.mailer or mailer_for(self.settings)
        lines = changes.lines(self.grace)
        sent = 0
        for owner in owners:
            mail = idp_metadata_changed_mail(
                to=owner.email, tenant_name=conn.tenant_id, connection_id=conn.id, changes=lines
            )
            try:
                mailer.send(mail)
                sent += 1
            except Exception as exc:  # noqa: BLE001 - the change is saved and audited; a lost mail must not undo it
                logger.error(
                    "owner notice not sent", extra={"tenant_id": conn.tenant_id, "error_type": type(exc).__name__}
                )
        return sent
