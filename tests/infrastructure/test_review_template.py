"""Review findings 2, 6, 7 and 10 as the template states them: one test per rule."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sso_local.template import load_template


def _resources() -> dict[str, Any]:
    return dict(load_template()["Resources"])


def _statements(function: str) -> list[dict[str, Any]]:
    policies = _resources()[function]["Properties"].get("Policies") or []
    return [s for p in policies for s in p["Statement"]]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return list(action) if isinstance(action, list) else [action]


# ---- finding 10: AppRedirectUrl ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        ("https://app.example.com/sso/callback", True),
        ("https://app.example.com:8443/cb?x=1", True),
        ("https://app.example.com", True),
        ("", False),
        ("http://app.example.com/cb", False),
        ("https://app.example.com/cb#frag", False),
        ("https://app.example.com/c b", False),
        ("javascript:alert(1)", False),
    ],
)
def test_app_redirect_url_must_be_an_https_url(value: str, allowed: bool) -> None:
    parameter = load_template()["Parameters"]["AppRedirectUrl"]
    assert "Default" not in parameter  # no fallback: the deployment must say where codes go
    pattern = parameter["AllowedPattern"]
    # CloudFormation matches the whole value (Java regex); these patterns mean the same in Python.
    assert bool(re.fullmatch(pattern, value)) is allowed


# ---- finding 6: least privilege ------------------------------------------------------------------------
SECRET_WRITES = {
    "secretsmanager:PutSecretValue",
    "secretsmanager:CreateSecret",
    "secretsmanager:UpdateSecret",
    "secretsmanager:UpdateSecretVersionStage",
    "secretsmanager:DeleteSecret",
    "secretsmanager:RestoreSecret",
}


def _events(function: str) -> list[dict[str, Any]]:
    return list((_resources()[function]["Properties"].get("Events") or {}).values())


def _grants_on(function: str, resource: Any) -> set[str]:
    return {a for s in _statements(function) if s["Resource"] == resource for a in _actions(s)}


def test_only_the_connection_creators_and_the_rotation_function_may_write_the_sp_signing_key() -> None:
    key = {"Ref": "SpSigningKey"}
    writers = {
        name
        for name, res in _resources().items()
        if res["Type"] == "AWS::Serverless::Function" and _grants_on(name, key) & SECRET_WRITES
    }
    # The connections function stores the first key, and so does the console, whose "Manage" creates connections
    # through the same logic (a deployment's first connection may be made there); the operator's rotation function
    # (no API route) rotates it.
    assert writers == {"ConnectionsFunction", "ConsoleFunction", "SpKeyRotationFunction"}
    for creator in ("ConnectionsFunction", "ConsoleFunction"):
        env = _resources()[creator]["Properties"]["Environment"]["Variables"]
        assert env["SSO_SP_KEY_SECRET_ID"] == key, creator
    for writer in writers:
        assert _grants_on(writer, key) == {"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"}, writer
    assert not any(e.get("Type") == "HttpApi" for e in _events("SpKeyRotationFunction")), "an operator-only function"
    for reader in ("MetadataFunction", "LoginFunction", "AcsFunction"):
        assert _grants_on(reader, key) == {"secretsmanager:GetSecretValue"}, reader


def test_ses_send_is_scoped_to_the_sender_identity() -> None:
    ses = [s for s in _statements("InvitationsFunction") if any(a.startswith("ses:") for a in _actions(s))]
    (statement,) = ses
    assert _actions(statement) == ["ses:SendEmail"]
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    subs = [r["Fn::Sub"] for r in resources]
    assert "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${MailIdentity}" in subs
    assert all(not s.endswith("/*") for s in subs), subs
    parameter = load_template()["Parameters"]["MailIdentity"]
    for good in ("example.com", "mail.example.co.uk", "no-reply@example.com"):
        assert re.fullmatch(parameter["AllowedPattern"], good), good
    for bad in ("*", "", "example.com/*", "arn:aws:ses:us-east-1:1:identity/*"):
        assert not re.fullmatch(parameter["AllowedPattern"], bad), bad
    # Only the functions that send invitations or owner notices may send mail, each on the sender identity only.
    senders = {
        name
        for name, res in _resources().items()
        if res["Type"] == "AWS::Serverless::Function"
        and any(a.startswith("ses:") for s in _statements(name) for a in _actions(s))
    }
    assert senders == {
        "InvitationsFunction",
        "ConsoleFunction",
        "SupportAccessFunction",
        "SpKeyRotationFunction",
        "CertificateWatchFunction",
        "MetadataRefreshFunction",
    }
    for name in senders:
        for st in _statements(name):
            if any(a.startswith("ses:") for a in _actions(st)):
                listed = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                assert all(not r["Fn::Sub"].endswith("/*") for r in listed), name


def test_the_acs_cannot_delete_items() -> None:
    actions = {a for s in _statements("AcsFunction") for a in _actions(s)}
    assert "dynamodb:DeleteItem" not in actions
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"} <= actions


# ---- finding 2: what the template can say about flooding -----------------------------------------------
def test_every_public_route_has_its_own_lower_throttle() -> None:
    from tests.infrastructure.test_template import PUBLIC_ROUTES

    api = _resources()["HttpApi"]["Properties"]
    default = api["DefaultRouteSettings"]
    settings = api["RouteSettings"]
    assert {tuple(k.split(" ", 1)) for k in settings} == PUBLIC_ROUTES
    for route, limits in settings.items():
        assert 0 < limits["ThrottlingRateLimit"] < default["ThrottlingRateLimit"], route
        assert 0 < limits["ThrottlingBurstLimit"] < default["ThrottlingBurstLimit"], route
    # The metadata and accept pages are read rarely: the lowest budget.
    assert settings["GET /saml/{connection_id}/metadata"]["ThrottlingRateLimit"] <= 10


# ---- finding 7: bounces and complaints ----------------------------------------------------------------
def test_invitation_mail_reports_bounces_and_complaints_to_the_mail_events_function() -> None:
    resources = _resources()
    assert resources["MailConfigurationSet"]["Type"] == "AWS::SES::ConfigurationSet"
    destination = resources["MailEventDestination"]["Properties"]
    assert destination["ConfigurationSetName"] == {"Ref": "MailConfigurationSet"}
    assert sorted(destination["EventDestination"]["MatchingEventTypes"]) == ["bounce", "complaint"]
    assert "EventBridgeDestination" in destination["EventDestination"]
    env = resources["InvitationsFunction"]["Properties"]["Environment"]["Variables"]
    assert env["SSO_MAIL_CONFIGURATION_SET"] == {"Ref": "MailConfigurationSet"}
    assert env["SSO_INVITE_DAILY_LIMIT_TENANT"] == {"Ref": "InviteDailyLimitTenant"}
    assert env["SSO_INVITE_DAILY_LIMIT_INVITER"] == {"Ref": "InviteDailyLimitInviter"}
    parameters = load_template()["Parameters"]
    assert (parameters["InviteDailyLimitTenant"]["Default"], parameters["InviteDailyLimitInviter"]["Default"]) == (
        200,
        50,
    )
    (rule,) = resources["MailEventsFunction"]["Properties"]["Events"].values()
    assert rule["Type"] == "EventBridgeRule"
    assert rule["Properties"]["Pattern"]["source"] == ["aws.ses"]
    assert set(rule["Properties"]["Pattern"]["detail-type"]) == {"Email Bounced", "Email Complaint Received"}
    # It writes the suppression marks and nothing else.
    assert [_actions(s) for s in _statements("MailEventsFunction")] == [["dynamodb:PutItem"]]
    ses = [s for s in _statements("InvitationsFunction") if "ses:SendEmail" in _actions(s)]
    subs = [r["Fn::Sub"] for r in ses[0]["Resource"]]
    assert any(s.endswith(":configuration-set/${MailConfigurationSet}") for s in subs)
