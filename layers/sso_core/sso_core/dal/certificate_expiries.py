"""The keyed index of IdP certificate expiries, and which expiry notices were sent.

Items:
- expiry  pk=CERTEXPIRY#<UTC day the certificate expires>  sk=<connection id>#<sha256 hex>
          (tenant, subject, not_after; ``notice_<days>`` once the notice for that threshold was claimed)

Written and removed in the same transaction as the connection's certificates (``put_op``/``delete_op``), so the
daily watch reads the days that are due with one Query each instead of scanning connections. The index may hold
a stale item (a writer that does not know it); the watch checks the connection before it mails and removes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from botocore.exceptions import ClientError

from sso_core.dal.table import Table, TxItem, error_code, key, serialize


@dataclass(frozen=True)
class CertificateExpiry:
    connection_id: str
    tenant_id: str
    fingerprint: str  # lower-case hex, no colons
    subject: str
    not_after: datetime
    notices: frozenset[int] = frozenset()  # thresholds (days) already claimed


def _pk(day: date) -> str:
    return f"CERTEXPIRY#{day.isoformat()}"


def _sk(connection_id: str, fingerprint: str) -> str:
    return f"{connection_id}#{fingerprint}"


def _notice_attribute(days: int) -> str:
    return f"notice_{int(days)}"


def put_op(entry: CertificateExpiry) -> TxItem:
    """Transaction item: the certificate is in the index (a new certificate of the connection)."""
    item = {
        "pk": _pk(entry.not_after.date()),
        "sk": _sk(entry.connection_id, entry.fingerprint),
        "type": "certificate_expiry",
        "connection_id": entry.connection_id,
        "tenant_id": entry.tenant_id,
        "fingerprint": entry.fingerprint,
        "subject": entry.subject,
        "not_after": entry.not_after.isoformat(),
        # Kept a day past expiry (the watch never mails about an expired certificate), then TTL removes it.
        "ttl": int(entry.not_after.timestamp()) + 86400,
    }
    return ("certificate_expiry", {"Put": {"Item": serialize(item)}})


def delete_op(connection_id: str, fingerprint: str, not_after: datetime) -> TxItem:
    """Transaction item: the certificate leaves the index (removed from the connection)."""
    return ("certificate_expiry", {"Delete": {"Key": key(_pk(not_after.date()), _sk(connection_id, fingerprint))}})


class CertificateExpiryRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def expiring_on(self, day: date) -> list[CertificateExpiry]:
        items = self.table.query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": _pk(day)}},
            ConsistentRead=True,
        )
        return [_entry(i) for i in items]

    def claim_notice(self, entry: CertificateExpiry, days: int, skipped: tuple[int, ...], when: datetime) -> bool:
        """Claim the notice for threshold ``days`` (True: this caller sends it; False: it was claimed already, or
        the certificate left the index). ``skipped`` thresholds, passed without a notice, are marked too."""
        names = {"#n": _notice_attribute(days)}
        updates = ["#n = :when"]
        values = {":when": when.isoformat(), **({":skipped": "skipped"} if skipped else {})}
        for i, other in enumerate(skipped):
            names[f"#s{i}"] = _notice_attribute(other)
            updates.append(f"#s{i} = if_not_exists(#s{i}, :skipped)")
        try:
            self.table.client.update_item(
                TableName=self.table.name,
                Key=key(_pk(entry.not_after.date()), _sk(entry.connection_id, entry.fingerprint)),
                UpdateExpression="SET " + ", ".join(updates),
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#n)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=serialize(values),
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_notice(self, entry: CertificateExpiry, days: int) -> None:
        """Undo a claim whose notice reached nobody, so the next run sends it."""
        self.table.client.update_item(
            TableName=self.table.name,
            Key=key(_pk(entry.not_after.date()), _sk(entry.connection_id, entry.fingerprint)),
            UpdateExpression="REMOVE #n",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#n": _notice_attribute(days)},
        )

    def forget(self, entry: CertificateExpiry) -> None:
        """Remove a stale item (its certificate is no longer the connection's)."""
        self.table.client.delete_item(
            TableName=self.table.name,
            Key=key(_pk(entry.not_after.date()), _sk(entry.connection_id, entry.fingerprint)),
        )


def _entry(item: dict[str, Any]) -> CertificateExpiry:
    notices = frozenset(int(k.removeprefix("notice_")) for k in item if k.startswith("notice_"))
    return CertificateExpiry(
        connection_id=str(item["connection_id"]),
        tenant_id=str(item["tenant_id"]),
        fingerprint=str(item["fingerprint"]),
        subject=str(item.get("subject") or ""),
        not_after=datetime.fromisoformat(str(item["not_after"])),
        notices=notices,
    )
