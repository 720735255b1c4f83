"""When a connection's IdP certificates expire: their summaries in the API, the warnings, and the expiry index.

An expired IdP signing certificate still verifies (docs/decisions.md, "An expired IdP certificate still
verifies"); what it gets instead is a warning wherever an administrator looks, and notices before it happens.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sso_core.dal import certificate_expiries
from sso_core.dal.table import TxItem
from sso_core.models.connections import CertificateOut, Connection, IdpConfig
from sso_core.saml.certificates import CertificateFacts, facts_of, load_certificate

EXPIRING_WITHIN = timedelta(days=30)
NOTICE_THRESHOLDS = (30, 7, 1)  # days before expiry, each mailed once


def facts(pem: str) -> CertificateFacts:
    return facts_of(load_certificate(pem))


def fingerprint_hex(f: CertificateFacts) -> str:
    return f.sha256_fingerprint.replace(":", "").lower()


def expires_in_days(not_after: datetime, now: datetime) -> int:
    """Whole days left, negative once expired (-1: expired a day ago); whole days only, rounded toward zero."""
    return int((not_after - now) / timedelta(days=1))


def state(not_after: datetime, now: datetime) -> str:
    if not_after <= now:
        return "expired"
    return "expiring" if not_after - now <= EXPIRING_WITHIN else "valid"


def certificate_out(pem: str, now: datetime) -> CertificateOut:
    f = facts(pem)
    return CertificateOut(
        subject=f.subject,
        sha256_fingerprint=f.sha256_fingerprint,
        not_before=f.not_before.isoformat(),
        not_after=f.not_after.isoformat(),
        expires_in_days=expires_in_days(f.not_after, now),
        state=state(f.not_after, now),
    )


def expiry_warnings(idp: IdpConfig | None, now: datetime) -> list[str]:
    """One plain sentence per expiring or expired certificate of the IdP."""
    if idp is None:
        return []
    warnings = []
    fresh = [facts(p) for p in idp.certificates]
    has_valid = any(state(f.not_after, now) == "valid" for f in fresh)
    for f in fresh:
        which = f"The IdP certificate {f.subject} (SHA-256 {f.sha256_fingerprint[:23]}...)"
        current = state(f.not_after, now)
        if current == "expired":
            advice = (
                "remove it once the IdP signs with its new certificate."
                if has_valid
                else "logins signed with it still work, but add the IdP's new certificate now."
            )
            warnings.append(f"{which} expired on {f.not_after:%Y-%m-%d}; {advice}")
        elif current == "expiring":
            days = expires_in_days(f.not_after, now)
            advice = "" if has_valid else " Add the IdP's next certificate before then."
            warnings.append(f"{which} expires on {f.not_after:%Y-%m-%d} (in {days} days).{advice}")
    return warnings


def merged_warnings(given: list[str], idp: IdpConfig | None, now: datetime) -> list[str]:
    """A change's own warnings, then one per expiring or expired certificate. The import check's sentence about
    a certificate's expiry date gives way to the one here, which also names the certificate."""
    expiry = expiry_warnings(idp, now)
    dates = {f"expires on {f.not_after:%Y-%m-%d}" for f in _facts_of_idp(idp)}
    kept = [w for w in given if not any(d in w for d in dates)]
    return kept + [w for w in expiry if w not in kept]


def index_ops(before: Connection | None, after: Connection | None) -> list[TxItem]:
    """Transaction items that keep the expiry index equal to the connection's certificates: index the added
    ones, drop the removed ones. Goes into the same transaction as the connection's write."""
    old = {fingerprint_hex(f): f for f in _facts_of(before)}
    new = {fingerprint_hex(f): f for f in _facts_of(after)}
    ops: list[TxItem] = []
    if before is not None:
        ops.extend(certificate_expiries.delete_op(before.id, fp, f.not_after) for fp, f in old.items() if fp not in new)
    if after is not None:
        ops.extend(
            certificate_expiries.put_op(
                certificate_expiries.CertificateExpiry(after.id, after.tenant_id, fp, f.subject, f.not_after)
            )
            for fp, f in new.items()
            if fp not in old
        )
    return ops


def _facts_of(conn: Connection | None) -> list[CertificateFacts]:
    return _facts_of_idp(conn.idp if conn is not None else None)


def _facts_of_idp(idp: IdpConfig | None) -> list[CertificateFacts]:
    return [] if idp is None else [facts(p) for p in idp.certificates]
