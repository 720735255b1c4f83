"""Outgoing mail: the invitation message from templates, sent through SES or written to a local outbox.

Every value substituted into the HTML template is HTML-escaped; header values are stripped of control
characters so that no value can add a header.
"""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import cache
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any, Protocol

import boto3
from botocore.config import Config

from sso_core.config import Settings

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    html: str
    text: str


class Mailer(Protocol):
    def send(self, mail: OutgoingMail) -> str:
        """Send ``mail``; returns the message id. Raises on failure."""
        ...


class SesMailer:
    """SES v2 ``SendEmail`` with simple content (HTML and plain text)."""

    def __init__(self, sender: str, client: Any | None = None, configuration_set: str = "") -> None:
        self.sender = sender
        self.configuration_set = configuration_set  # its event destination reports bounces and complaints
        self.client = client or boto3.client("sesv2", config=Config(retries={"mode": "standard", "max_attempts": 3}))

    def send(self, mail: OutgoingMail) -> str:
        extra = {"ConfigurationSetName": self.configuration_set} if self.configuration_set else {}
        resp = self.client.send_email(
            **extra,
            FromEmailAddress=self.sender,
            Destination={"ToAddresses": [mail.to]},
            Content={
                "Simple": {
                    "Subject": {"Data": header_value(mail.subject), "Charset": "UTF-8"},
                    "Body": {
                        "Html": {"Data": mail.html, "Charset": "UTF-8"},
                        "Text": {"Data": mail.text, "Charset": "UTF-8"},
                    },
                }
            },
        )
        return str(resp["MessageId"])


class OutboxMailer:
    """Writes each message as one RFC 5322 ``.eml`` file into a folder (the local stack's outbox)."""

    def __init__(self, sender: str, folder: Path) -> None:
        self.sender = sender
        self.folder = folder

    def send(self, mail: OutgoingMail) -> str:
        msg = EmailMessage()
        msg["From"] = header_value(self.sender)
        msg["To"] = header_value(mail.to)
        msg["Subject"] = header_value(mail.subject)
        msg["Date"] = format_datetime(datetime.now(UTC))
        message_id = make_msgid(domain="sso.local")
        msg["Message-ID"] = message_id
        msg.set_content(mail.text)
        msg.add_alternative(mail.html, subtype="html")
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}.eml"
        tmp = self.folder / f".{name}.tmp"
        tmp.write_bytes(msg.as_bytes())
        tmp.replace(self.folder / name)  # readers never see a half-written file
        return message_id


def mailer_for(settings: Settings) -> Mailer:
    """The outbox when ``local_outbox`` is set (local stack), else SES."""
    if settings.local_outbox:
        return OutboxMailer(settings.mail_sender, Path(settings.local_outbox))
    return SesMailer(settings.mail_sender, configuration_set=settings.mail_configuration_set)


def header_value(value: str) -> str:
    return _CONTROL.sub(" ", value).strip()


# ---- templates ----------------------------------------------------------------------------


@cache
def _template(name: str) -> Template:
    return Template(resources.files("sso_core").joinpath("templates", name).read_text(encoding="utf-8"))


def render(name: str, values: dict[str, str], *, escape: bool) -> str:
    """Template ``name`` with ``values`` substituted (HTML-escaped when ``escape``); a missing value raises."""
    if escape:
        values = {k: html.escape(v, quote=True) for k, v in values.items()}
    return _template(name).substitute(values)


def format_expiry(when: datetime) -> str:
    utc = when.astimezone(UTC)
    return f"{utc.day} {utc:%B %Y, %H:%M} UTC"


def invitation_mail(
    *, to: str, tenant_name: str, inviter: str, role: str, accept_link: str, expires_at: datetime
) -> OutgoingMail:
    values = {
        "tenant_name": tenant_name,
        "inviter": inviter or "An administrator",
        "email": to,
        "role": role,
        "accept_link": accept_link,
        "expires_at": format_expiry(expires_at),
    }
    return OutgoingMail(
        to=to,
        subject=header_value(f"You are invited to join {tenant_name}"),
        html=render("invitation.html", values, escape=True),
        text=render("invitation.txt", values, escape=False),
    )


def sso_access_revoked_mail(
    *, to: str, tenant_name: str, operator: str, connections: list[str], domains: list[str]
) -> OutgoingMail:
    """Tells an owner that support switched SSO off for their organisation, and what that changed."""
    values = {
        "tenant_name": tenant_name,
        "operator": operator,
        "connections": ", ".join(connections) or "none (none was on)",
        "domains": ", ".join(domains) or "none (it was on everywhere)",
    }
    return OutgoingMail(
        to=to,
        subject=header_value(f"Enterprise SSO was switched off for {tenant_name}"),
        html=render("sso_access_revoked.html", values, escape=True),
        text=render("sso_access_revoked.txt", values, escape=False),
    )


def sp_key_rotation_mail(
    *, to: str, tenant_name: str, fingerprint: str, certificate_url: str, switch_at: datetime
) -> OutgoingMail:
    """Tells an owner whose connection signs its requests to add the service's next certificate to the IdP."""
    values = {
        "tenant_name": tenant_name,
        "fingerprint": fingerprint,
        "certificate_url": certificate_url,
        "switch_at": format_expiry(switch_at),
    }
    return OutgoingMail(
        to=to,
        subject=header_value(f"Action needed before {values['switch_at']}: add our new SAML signing certificate"),
        html=render("sp_key_rotation.html", values, escape=True),
        text=render("sp_key_rotation.txt", values, escape=False),
    )


def certificate_expiry_mail(
    *,
    to: str,
    tenant_name: str,
    connection_id: str,
    connection_link: str,
    domains: list[str],
    subject: str,
    fingerprint: str,
    expires_at: datetime,
    days_left: int,
) -> OutgoingMail:
    """Tells an owner that one of a connection's IdP certificates expires soon, and how to roll it over."""
    left = "tomorrow or sooner" if days_left < 1 else f"in {days_left} day{'s' if days_left != 1 else ''}"
    values = {
        "tenant_name": tenant_name,
        "connection_id": connection_id,
        "connection_link": connection_link,
        "domains": ", ".join(domains) or "none",
        "subject": subject,
        "fingerprint": fingerprint,
        "expires_at": format_expiry(expires_at),
        "days_left": left,
    }
    return OutgoingMail(
        to=to,
        subject=header_value(f"An SSO certificate of {tenant_name} expires {left}"),
        html=render("certificate_expiry.html", values, escape=True),
        text=render("certificate_expiry.txt", values, escape=False),
    )


def idp_metadata_changed_mail(*, to: str, tenant_name: str, connection_id: str, changes: list[str]) -> OutgoingMail:
    """Tells an owner what the daily refresh of their IdP's metadata URL changed in a connection."""
    values = {"tenant_name": tenant_name, "connection_id": connection_id}
    text_values = {**values, "changes": "\n".join(f"- {line}" for line in changes)}
    html_values = {k: html.escape(v, quote=True) for k, v in values.items()}
    html_values["changes"] = "".join(f"<li>{html.escape(line, quote=True)}</li>" for line in changes)
    return OutgoingMail(
        to=to,
        subject=header_value(f"Your IdP's metadata changed the SSO connection of {tenant_name}"),
        html=_template("idp_metadata_changed.html").substitute(html_values),
        text=render("idp_metadata_changed.txt", text_values, escape=False),
    )
