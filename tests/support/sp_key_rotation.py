"""The SP key rotation as the tests drive and check it: the operator function invoked directly, the secret as
stored, the signing certificates a metadata document publishes, an embedded signature checked with xmlsec, and
tenants seeded straight into the table for the owners' notices."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any

import xmlsec
from lxml import etree

from sso_core.clock import utcnow
from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.table import Table
from sso_core.dal.users import create_ops
from sso_core.gateways import sp_keys
from sso_core.models.connections import Connection
from sso_core.models.users import Membership
from sso_core.saml.xml_names import NS_DS, NS_MD
from tests.support.sso_fixtures import SP_KEY_SECRET_ID

MD = {"md": NS_MD, "ds": NS_DS}
OPERATOR = "ops@vendor.example"


def rotate(action: str, **command: Any) -> dict[str, Any]:
    """Invokes the operator function with one command (as ``aws lambda invoke`` would; it has no route)."""
    from sso_local.lambda_runtime import invoke
    from sso_local.template import functions

    event = {"action": action, "operator": OPERATOR, **command}
    return dict(invoke(functions()["SpKeyRotationFunction"], event))


def stored() -> dict[str, Any]:
    return dict(json.loads(sp_keys.secrets_client().get_secret_value(SecretId=SP_KEY_SECRET_ID)["SecretString"]))


def version_count() -> int:
    versions = sp_keys.secrets_client().list_secret_version_ids(SecretId=SP_KEY_SECRET_ID, IncludeDeprecated=True)
    return len(versions["Versions"])


def signing_certificates(metadata: str) -> list[str]:
    root = etree.fromstring(metadata.encode())
    return list(
        root.xpath(
            "//md:SPSSODescriptor/md:KeyDescriptor[@use='signing']/ds:KeyInfo/ds:X509Data/ds:X509Certificate/text()",
            namespaces=MD,
        )
    )


def verifies(xml: bytes, cert_pem: str) -> bool:
    """Whether the enveloped signature of ``xml`` verifies with ``cert_pem`` (xmlsec, never our own code)."""
    root = etree.fromstring(xml)
    signature = root.find(f"{{{NS_DS}}}Signature")
    assert signature is not None, "the request is not signed"
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_memory(cert_pem.encode(), xmlsec.constants.KeyDataFormatCertPem)
    context.register_id(root, "ID")
    try:
        context.verify(signature)
    except xmlsec.Error:
        return False
    return True


def seed_tenant(table: Table, tenant: str, owners: list[str], signed_requests: bool, members: int = 1) -> str:
    """A tenant with owners (and a member) and one connection; returns the connection's id."""
    now = utcnow()
    people = [(email, "owner") for email in owners] + [(f"member{i}@{tenant}.test", "member") for i in range(members)]
    for email, role in people:
        member = Membership(user_id=uuid.uuid4().hex, tenant_id=tenant, email=email, role=role, created_at=now)
        table.transact(create_ops(member))
    conn = Connection(
        id="conn_" + uuid.uuid4().hex[:20],
        tenant_id=tenant,
        domains=[f"{tenant}.test"],
        signed_requests=signed_requests,
        created_at=now,
        updated_at=now,
    )
    ConnectionRepository(table).create(conn)
    return conn.id


def outbox_recipients(outbox: Path) -> list[str]:
    return sorted(str(message_from_bytes(p.read_bytes())["To"]) for p in outbox.glob("*.eml"))


def outbox_texts(outbox: Path) -> list[str]:
    texts = []
    for path in outbox.glob("*.eml"):
        for part in message_from_bytes(path.read_bytes()).walk():
            if part.get_content_type() == "text/plain":
                payload = part.get_payload(decode=True)
                texts.append(payload.decode() if isinstance(payload, bytes) else str(payload))
    return texts


def iso(moment: datetime) -> str:
    return moment.isoformat()


def http_call(base_url: str, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    """One request to the running local stack; (status, parsed JSON body or the text)."""
    import urllib.error
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base_url + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            raw = resp.read().decode()
            status = resp.status
    except urllib.error.HTTPError as err:
        raw, status = err.read().decode(), err.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw
