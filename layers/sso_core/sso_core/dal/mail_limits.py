"""What invitation mail may cost: daily counters per tenant and per inviter, and addresses SES said not to mail.

Items:
- tenant counter   pk=TENANT#<tenant>  sk=MAILQUOTA#<day>                          (count; TTL two days)
- inviter counter  pk=TENANT#<tenant>  sk=MAILQUOTA#<day>#INVITER#<sha256 of email> (count; TTL two days)
- suppression      pk=SUPPRESSED#<sha256 of email>  sk=SUPPRESSED  (reason bounce|complaint, when; no address)

Both counters move in one transaction, each conditioned on staying within its limit: a mail is counted against
both or neither, and concurrent requests can never pass a limit together.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sso_core.dal.table import Table, TransactionCancelled, TxItem, key, serialize

COUNTER_TTL = timedelta(days=2)


def _email_hash(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class QuotaExceeded(Exception):
    """``scope`` is "tenant" or "inviter"."""

    def __init__(self, scope: str) -> None:
        super().__init__(scope)
        self.scope = scope


class MailLimitRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def count_invitation_mail(
        self, tenant_id: str, inviter: str, now: datetime, tenant_limit: int, inviter_limit: int
    ) -> None:
        """Count one mail against today's (UTC) tenant and inviter budgets, or raise ``QuotaExceeded``."""
        day = now.strftime("%Y-%m-%d")
        ttl = int((now + COUNTER_TTL).timestamp())
        pk = f"TENANT#{tenant_id}"
        inviter_sk = f"MAILQUOTA#{day}#INVITER#{_email_hash(inviter)}"
        ops: list[TxItem] = [
            ("tenant_quota", self._increment(pk, f"MAILQUOTA#{day}", tenant_limit, ttl)),
            (
                "inviter_quota",
                self._increment(pk, inviter_sk, inviter_limit, ttl),
            ),
        ]
        try:
            self.table.transact(ops)
        except TransactionCancelled as exc:
            if exc.failed_on("tenant_quota"):
                raise QuotaExceeded("tenant") from exc
            if exc.failed_on("inviter_quota"):
                raise QuotaExceeded("inviter") from exc
            raise

    def _increment(self, pk: str, sk: str, limit: int, ttl: int) -> dict[str, Any]:
        return {
            "Update": {
                "Key": key(pk, sk),
                "UpdateExpression": "SET #type = :type, #ttl = :ttl ADD #count :one",
                "ConditionExpression": "attribute_not_exists(#count) OR #count < :limit",
                "ExpressionAttributeNames": {"#type": "type", "#ttl": "ttl", "#count": "count"},
                "ExpressionAttributeValues": serialize(
                    {":type": "mail_quota", ":ttl": ttl, ":one": 1, ":limit": limit}
                ),
            }
        }

    # ---- suppression --------------------------------------------------------------------------
    def suppress(self, email: str, reason: str, when: datetime) -> None:
        """Never mail ``email`` again (an SES permanent bounce or complaint); a complaint outranks a bounce."""
        self.table.client.put_item(
            TableName=self.table.name,
            Item=serialize(
                {
                    "pk": f"SUPPRESSED#{_email_hash(email)}",
                    "sk": "SUPPRESSED",
                    "type": "mail_suppression",
                    "reason": reason,
                    "at": when.isoformat(),
                }
            ),
        )

    def suppressed(self, email: str) -> str | None:
        """The reason ``email`` must not be mailed ("bounce" or "complaint"), or None."""
        item = self.table.get(f"SUPPRESSED#{_email_hash(email)}", "SUPPRESSED")
        return str(item["reason"]) if item else None
