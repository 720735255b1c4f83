"""The mail the invitations send, as moto's SES recorded it, and the addresses the tests configure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

SENDER = "invitations@mail.sso.test"
ACCEPT_URL = "https://app.sso.test/invitations/accept"
TOKEN_IN_LINK = re.compile(re.escape(ACCEPT_URL) + r"\?token=([A-Za-z0-9_\-%]+)")


@dataclass(frozen=True)
class SentMail:
    to: list[str]
    source: str
    subject: str
    body: str

    @property
    def token(self) -> str:
        match = TOKEN_IN_LINK.search(self.body)
        assert match, "the mail holds no accept link"
        return unquote(match.group(1))


def sent_mail(to: str | None = None) -> list[SentMail]:
    """Mail that moto's SES recorded (in-process mock or the in-process moto server alike)."""
    backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    found = [
        SentMail(list(m.destinations.get("ToAddresses", [])), m.source, m.subject, m.body)
        for m in backend.sent_messages
        if hasattr(m, "destinations")
    ]
    return [m for m in found if to is None or to in m.to]
