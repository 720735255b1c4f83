"""The console function in template.yaml: public routes (its own session), least privilege, its configuration."""

from sso_local.template import load_template, routes

CONSOLE = "ConsoleFunction"


def _console() -> dict:
    return load_template()["Resources"][CONSOLE]["Properties"]


def test_the_console_routes_skip_the_jwt_authorizer_and_nothing_else_of_it_does():
    mine = {(r.method, r.path) for r in routes() if r.function == CONSOLE}
    assert mine == {("GET", "/console/"), ("GET", "/console/{proxy+}"), ("POST", "/console/{proxy+}")}
    assert all(r.public for r in routes() if r.function == CONSOLE)


def test_the_console_may_do_what_its_pages_logic_needs_and_no_more():
    statements = [s for p in _console()["Policies"] for s in p["Statement"]]
    granted = {(a, str(s["Resource"])) for s in statements for a in s["Action"]}
    table = str({"Fn::GetAtt": ["Table", "Arn"]})
    index = str({"Fn::Sub": "${Table.Arn}/index/by-tenant"})
    expected = {
        *(
            (f"dynamodb:{a}", table)
            for a in ("GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem", "Query")
        ),
        ("dynamodb:Query", index),
        (
            "ses:SendEmail",
            str(
                [
                    {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${MailIdentity}"},
                    {
                        "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:"
                        "configuration-set/${MailConfigurationSet}"
                    },
                ]
            ),
        ),
        ("secretsmanager:GetSecretValue", str({"Ref": "ConsoleClientSecret"})),
        # "Manage" creates connections, which stores the first SP signing key (like POST /connections).
        ("secretsmanager:GetSecretValue", str({"Ref": "SpSigningKey"})),
        ("secretsmanager:PutSecretValue", str({"Ref": "SpSigningKey"})),
    }
    assert granted == expected
    # Never a scan; the only secret it writes is the SP signing key's first value (never its own client secret).
    assert not any(a == "dynamodb:Scan" for a, _ in granted)
    assert {r for a, r in granted if a == "secretsmanager:PutSecretValue"} == {str({"Ref": "SpSigningKey"})}


def test_the_console_is_configured_with_its_issuer_client_and_secret():
    variables = _console()["Environment"]["Variables"]
    assert variables["SSO_CONSOLE_ISSUER"] == {"Ref": "ConsoleIssuer"}
    assert variables["SSO_CONSOLE_CLIENT_ID"] == {"Ref": "ConsoleClientId"}
    assert variables["SSO_CONSOLE_CLIENT_SECRET_ID"] == {"Ref": "ConsoleClientSecret"}
    assert "SSO_CONSOLE_CLIENT_SECRET" not in variables  # the value lives in Secrets Manager only
