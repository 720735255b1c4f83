"""Review finding 7: invitations cannot be used to spam from the service's mail identity.

- At most N invitation mails per tenant and M per inviter per day (``SSO_INVITE_DAILY_LIMIT_TENANT`` /
  ``SSO_INVITE_DAILY_LIMIT_INVITER``, defaults 200 and 50), counted atomically in DynamoDB; over the limit the
  answer is ``429 invitation_limit_reached`` and nothing is written or sent. Resends count too.
- SES bounces and complaints (configuration set -> EventBridge -> the mail events function) mark the address;
  inviting it again, or resending to it, is ``409 address_suppressed``.
"""

from __future__ import annotations

from typing import Any

import pytest

from sso_core.config import Settings, get_settings
from sso_local.lambda_runtime import invoke
from sso_local.template import functions
from tests.support.admins import Admin
from tests.support.mail import sent_mail
from tests.support.sso_checks import stored_items

pytestmark = pytest.mark.integration


def _code(resp: Any) -> tuple[int, str]:
    return resp.status, resp.json()["error"]["code"]


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSO_INVITE_DAILY_LIMIT_TENANT", "5")
    monkeypatch.setenv("SSO_INVITE_DAILY_LIMIT_INVITER", "3")
    get_settings.cache_clear()


def test_safe_defaults() -> None:
    settings = Settings(table_name="t")
    assert (settings.invite_daily_limit_tenant, settings.invite_daily_limit_inviter) == (200, 50)


def test_per_inviter_limit(limits: None, make_admin) -> None:
    first, second = make_admin(role="admin"), make_admin(role="owner")
    for n in range(3):
        assert first.invite(f"user{n}@example.org").status == 201
    before = len(stored_items("invitation"))
    resp = first.invite("user3@example.org")
    assert _code(resp) == (429, "invitation_limit_reached"), resp.text
    assert "3" in resp.json()["error"]["message"]
    assert len(stored_items("invitation")) == before and not sent_mail("user3@example.org")
    assert second.invite("user3@example.org").status == 201  # another inviter of the tenant still may


def test_per_tenant_limit_and_resends_count(limits: None, make_admin) -> None:
    first, second = make_admin(role="admin"), make_admin(role="owner")
    invited = first.invite("a@example.org").json()["id"]
    assert first.call("POST", f"/invitations/{invited}/resend").status == 200  # the second mail of the day
    assert second.invite("b@example.org").status == 201
    assert second.invite("c@example.org").status == 201
    assert second.invite("d@example.org").status == 201  # five mails for the tenant
    assert _code(second.invite("e@example.org")) == (429, "invitation_limit_reached")
    assert _code(first.call("POST", f"/invitations/{invited}/resend")) == (429, "invitation_limit_reached")
    assert make_admin(tenant="globex").invite("e@example.org").status == 201  # other tenants are not affected


def _ses_event(kind: str, address: str, bounce_type: str = "Permanent") -> dict[str, Any]:
    """An SES event as the configuration set's EventBridge destination delivers it."""
    detail: dict[str, Any] = {"eventType": kind, "mail": {"destination": [address]}}
    if kind == "Bounce":
        detail["bounce"] = {"bounceType": bounce_type, "bouncedRecipients": [{"emailAddress": address}]}
        detail_type = "Email Bounced"
    else:
        detail["complaint"] = {"complainedRecipients": [{"emailAddress": address}]}
        detail_type = "Email Complaint Received"
    return {"version": "0", "source": "aws.ses", "detail-type": detail_type, "detail": detail}


def _deliver(event: dict[str, Any]) -> Any:
    return invoke(functions()["MailEventsFunction"], event)


def test_bounced_and_complained_addresses_are_not_mailed_again(admin: Admin) -> None:
    pending = admin.invite("Bounce@Example.org").json()["id"]
    _deliver(_ses_event("Bounce", "bounce@example.org"))
    _deliver(_ses_event("Complaint", "annoyed@example.org"))
    _deliver(_ses_event("Bounce", "busy@example.org", bounce_type="Transient"))  # a full mailbox: try again later
    mails = len(sent_mail())
    assert _code(admin.invite("annoyed@example.org")) == (409, "address_suppressed")
    assert _code(admin.call("POST", f"/invitations/{pending}/resend")) == (409, "address_suppressed")
    assert len(sent_mail()) == mails
    assert admin.invite("busy@example.org").status == 201
    # The mark holds no address in clear (a hash), and says why.
    marks = stored_items("mail_suppression")
    assert {m["reason"] for m in marks} == {"bounce", "complaint"}
    assert "bounce@example.org" not in repr(marks)


def test_malformed_events_change_nothing(admin: Admin) -> None:
    for event in (
        {"detail": {}},
        {"detail": {"eventType": "Bounce"}},
        {"detail": {"eventType": "Bounce", "bounce": {"bounceType": "Permanent", "bouncedRecipients": "x"}}},
        {"detail": {"eventType": "Complaint", "complaint": {"complainedRecipients": [{"emailAddress": "not mail"}]}}},
        {"detail": {"eventType": "Delivery"}},
    ):
        _deliver(event)
    assert not stored_items("mail_suppression")
