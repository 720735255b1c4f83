"""What the table keeps of an SP key rotation (never key material: that stays in Secrets Manager).

Items:
- staged certificate  pk=SP_KEY sk=NEXT                                  (fingerprint, not_after, switch_at:
  public facts the connection's SP details show owners, read with one GetItem by functions that may not read
  the secret)
- notice sent         pk=TENANT#<t> sk=SP_KEY_NOTICE#<fingerprint>#<email> (one per owner and staged key: a
  retried or resumed stage never mails an owner twice)
- operator audit      pk=OPERATOR#sp_key sk=AUDIT#...                      (``dal/audit.py``)

And the one read that finds who must be told: ``signed_request_connections`` pages through the table (no key
names the connections that sign requests; docs/capacity.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from sso_core.dal.table import Table, deserialize, error_code, key, serialize
from sso_core.models.sp_keys import NextCertificate

STAGED_PK = "SP_KEY"
STAGED_SK = "NEXT"
NOTICE_RETENTION = timedelta(days=400)
SCAN_PAGE = 1000


def _notice_key(tenant_id: str, fingerprint: str, email: str) -> dict[str, Any]:
    return key(f"TENANT#{tenant_id}", f"SP_KEY_NOTICE#{fingerprint.replace(':', '')}#{email}")


class SpKeyRecords:
    def __init__(self, table: Table) -> None:
        self.table = table

    def staged(self) -> NextCertificate | None:
        item = self.table.get(STAGED_PK, STAGED_SK, consistent=False)
        return NextCertificate.model_validate(item) if item else None

    def publish_staged(self, certificate: NextCertificate) -> None:
        item = {"pk": STAGED_PK, "sk": STAGED_SK, "type": "sp_key_next", **certificate.model_dump(mode="json")}
        self.table.client.put_item(TableName=self.table.name, Item=serialize(item))

    def clear_staged(self) -> None:
        self.table.client.delete_item(TableName=self.table.name, Key=key(STAGED_PK, STAGED_SK))

    def claim_notice(self, tenant_id: str, fingerprint: str, email: str, now: datetime) -> bool:
        """True when this owner was not told of this key yet (and now counts as told)."""
        item = {
            **_notice_key(tenant_id, fingerprint, email),
            "type": {"S": "sp_key_notice"},
            "sent_at": {"S": now.isoformat()},
            "ttl": {"N": str(int((now + NOTICE_RETENTION).timestamp()))},
        }
        try:
            self.table.client.put_item(
                TableName=self.table.name, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_notice(self, tenant_id: str, fingerprint: str, email: str) -> None:
        """The mail did not go: a later ``notify`` tries this owner again."""
        self.table.client.delete_item(TableName=self.table.name, Key=_notice_key(tenant_id, fingerprint, email))

    def signed_request_connections(self) -> Iterator[tuple[str, str]]:
        """(tenant id, connection id) of every connection that signs its AuthnRequests, a page at a time.

        A Scan: connections are keyed by id and listed by tenant, and nothing lists the tenants. It runs once per
        rotation (a few times in a key's life), filtered and projected server-side; see docs/capacity.md."""
        params: dict[str, Any] = {
            "TableName": self.table.name,
            "FilterExpression": "#type = :connection AND signed_requests = :yes",
            "ProjectionExpression": "tenant_id, id",
            "ExpressionAttributeNames": {"#type": "type"},
            "ExpressionAttributeValues": {":connection": {"S": "connection"}, ":yes": {"BOOL": True}},
            "Limit": SCAN_PAGE,
        }
        while True:
            resp = self.table.client.scan(**params)
            for raw in resp.get("Items", []):
                item = deserialize(raw)
                yield str(item["tenant_id"]), str(item["id"])
            last = resp.get("LastEvaluatedKey")
            if not last:
                return
            params["ExclusiveStartKey"] = last
