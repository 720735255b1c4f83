"""The template's operations resources: every alarm an operator needs, with its metric and the topic it notifies;
the metric filters match the log lines the code writes; the scheduled run's dead letters; the dashboard's widgets."""

from __future__ import annotations

import io
import json
import logging
import re
from typing import Any

import pytest

from sso_core.gateways import sp_keys
from sso_core.observability import logger
from sso_local.template import REPO_ROOT, functions, load_template

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in RESOURCES.items() if res["Type"] == kind}


ALARMS = of_type("AWS::CloudWatch::Alarm")
FILTERS = of_type("AWS::Logs::MetricFilter")


def metrics_of(alarm: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(namespace, metric name, dimensions) of an alarm, plain or metric math."""
    props = alarm["Properties"]
    if "MetricName" in props:
        dims = {d["Name"]: d["Value"] for d in props.get("Dimensions", [])}
        return [(props["Namespace"], props["MetricName"], dims)]
    found = []
    for query in props["Metrics"]:
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            found.append((metric["Namespace"], metric["MetricName"], dims))
    return found


def alarms_on(namespace: str, metric: str, **dims: Any) -> list[str]:
    return [
        name
        for name, alarm in ALARMS.items()
        for ns, m, d in metrics_of(alarm)
        if (ns, m) == (namespace, metric) and all(d.get(k) == v for k, v in dims.items())
    ]


def matches(pattern: str, line: dict[str, Any]) -> bool:
    """CloudWatch JSON filter patterns of the form ``{ $.a = "x" && $.b = "y" }`` (what the template uses)."""
    terms = re.fullmatch(r"\{\s*(.+?)\s*\}", pattern)
    assert terms, pattern
    for term in terms.group(1).split("&&"):
        found = re.fullmatch(r'\s*\$\.([A-Za-z_]+)\s*=\s*"([^"]*)"\s*', term)
        assert found, f"pattern term not understood: {term}"
        if line.get(found.group(1)) != found.group(2):
            return False
    return True


def test_every_alarm_notifies_the_topic_and_the_email_is_optional() -> None:
    assert RESOURCES["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    assert RESOURCES["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "AlarmKey"}
    key_policy = RESOURCES["AlarmKey"]["Properties"]["KeyPolicy"]["Statement"]
    assert any(s["Principal"] == {"Service": "cloudwatch.amazonaws.com"} for s in key_policy)
    subscription = RESOURCES["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert TEMPLATE["Parameters"]["AlarmEmail"]["Default"] == ""
    assert len(ALARMS) >= 20
    for name, alarm in ALARMS.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert alarm["Properties"]["AlarmDescription"], name


@pytest.mark.parametrize("function", sorted(functions()))
def test_every_function_has_an_errors_alarm(function: str) -> None:
    assert alarms_on("AWS/Lambda", "Errors", FunctionName={"Ref": function}), function


def test_api_5xx_and_throttles_are_alarmed() -> None:
    assert alarms_on("AWS/ApiGateway", "5xx", ApiId={"Ref": "HttpApi"})
    assert alarms_on("AWS/Lambda", "Throttles")
    assert alarms_on("AWS/DynamoDB", "ReadThrottleEvents", TableName={"Ref": "Table"})
    assert alarms_on("AWS/DynamoDB", "WriteThrottleEvents", TableName={"Ref": "Table"})


def test_login_refusals_spiking_is_a_share_of_acs_outcomes() -> None:
    [name] = alarms_on("EnterpriseSSO", "SsoLoginRefused", service="enterprise-sso")
    assert alarms_on("EnterpriseSSO", "SsoLoginSucceeded", service="enterprise-sso") == [name]
    props = ALARMS[name]["Properties"]
    expression = next(q for q in props["Metrics"] if "Expression" in q)
    assert "refused / (refused + FILL(succeeded, 0))" in expression["Expression"]
    assert props["Threshold"] == {"Ref": "LoginRefusalAlarmPercent"}


def test_the_metrics_the_alarms_use_are_the_ones_the_code_emits() -> None:
    """Every EnterpriseSSO metric an alarm or the dashboard reads is emitted by the code or by a metric filter."""
    code = "\n".join(p.read_text() for p in [*REPO_ROOT.glob("functions/*/app.py"), *REPO_ROOT.glob("layers/**/*.py")])
    emitted = set(re.findall(r'add_metric\(name="([A-Za-z_]+)"', code))
    emitted |= {"DomainCheck_" + r for r in ("verified", "not_found", "mismatch", "nxdomain", "indeterminate")}
    emitted |= {"SsoEnabled", "SsoDisabled"}
    from_filters = {t["MetricName"] for f in FILTERS.values() for t in f["Properties"]["MetricTransformations"]}
    used = {m for a in ALARMS.values() for ns, m, _ in metrics_of(a) if ns == "EnterpriseSSO"}
    used |= set(re.findall(r'"EnterpriseSSO",\s*"([A-Za-z_]+)"', dashboard_body()))
    assert used <= emitted | from_filters, used - emitted - from_filters
    assert "DomainCheck_" in code and 'f"DomainCheck_{result.check.result}"' in code


def test_refusals_by_reason_come_from_the_acs_log_line() -> None:
    [name] = [
        n
        for n, f in FILTERS.items()
        if f["Properties"]["LogGroupName"] == {"Ref": "AcsLogs"}
        and f["Properties"]["MetricTransformations"][0]["MetricName"] == "SsoLoginRefusedByReason"
    ]
    props = FILTERS[name]["Properties"]
    assert props["MetricTransformations"][0]["Dimensions"] == [{"Key": "reason", "Value": "$.reason"}]
    line = {"level": "WARNING", "message": "SSO login refused", "reason": "signature_invalid", "reference": "r"}
    assert matches(props["FilterPattern"], line)
    assert not matches(props["FilterPattern"], {**line, "message": "ACS failed"})
    source = (REPO_ROOT / "layers/sso_core/sso_core/logic/assertion_consumer.py").read_text()
    assert '"SSO login refused"' in source and '"reason": refusal.reason' in source


def captured_log(action: Any) -> list[dict[str, Any]]:
    """The JSON lines the Powertools logger writes while ``action`` runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    try:
        action()
    finally:
        logger.removeHandler(handler)
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_an_unreadable_sp_key_secret_logs_the_line_its_alarm_counts(aws: None) -> None:
    """A real failed read (no such secret, moto) writes the line; the filter on each SP key user's log matches it.
    A reader never creates the key, so it is refused as missing (503 at the edge) and the alarm counts it."""
    sp_keys.clear_cache()

    def read() -> None:
        with pytest.raises(sp_keys.SpKeyMissing):
            sp_keys.load_sp_keys("no-such-secret", "sso.test", create_if_missing=False)

    lines = captured_log(read)
    users = sorted(
        name.removesuffix("Function")
        for name, res in RESOURCES.items()
        if res["Type"] == "AWS::Serverless::Function"
        and "SSO_SP_KEY_SECRET_ID" in res["Properties"].get("Environment", {}).get("Variables", {})
    )
    assert users
    for user in users:
        [name] = [
            n
            for n, f in FILTERS.items()
            if f["Properties"]["LogGroupName"] == {"Ref": f"{user}Logs"}
            and f["Properties"]["MetricTransformations"][0]["MetricName"] == "SpKeyUnreadable"
        ]
        assert any(matches(FILTERS[name]["Properties"]["FilterPattern"], line) for line in lines), lines
    assert "error_code" in next(line for line in lines if line["message"] == sp_keys.SECRET_UNREADABLE)
    assert alarms_on("EnterpriseSSO", "SpKeyUnreadable")


def test_the_scheduled_run_is_alarmed_when_failing_slow_or_absent() -> None:
    dns = RESOURCES["DnsCheckFunction"]["Properties"]
    [slow] = alarms_on("AWS/Lambda", "Duration", FunctionName={"Ref": "DnsCheckFunction"})
    assert ALARMS[slow]["Properties"]["Threshold"] < dns["Timeout"] * 1000
    [absent] = alarms_on("AWS/Lambda", "Invocations", FunctionName={"Ref": "DnsCheckFunction"})
    assert ALARMS[absent]["Properties"]["ComparisonOperator"] == "LessThanThreshold"
    assert ALARMS[absent]["Properties"]["TreatMissingData"] == "breaching"


def test_the_scheduled_run_has_a_dead_letter_queue_with_an_alarm() -> None:
    dns = RESOURCES["DnsCheckFunction"]["Properties"]
    queue_arn = {"Fn::GetAtt": ["DnsCheckDeadLetters", "Arn"]}
    schedule = dns["Events"]["Every5Minutes"]["Properties"]
    assert schedule["DeadLetterConfig"] == {"Arn": queue_arn}
    assert schedule["RetryPolicy"]["MaximumEventAgeInSeconds"] < 300  # retries end before the next run
    assert dns["EventInvokeConfig"]["DestinationConfig"]["OnFailure"] == {"Type": "SQS", "Destination": queue_arn}
    assert RESOURCES["DnsCheckDeadLetters"]["Properties"]["SqsManagedSseEnabled"] is True
    statement = RESOURCES["DnsCheckDeadLettersPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert alarms_on(
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", QueueName={"Fn::GetAtt": ["DnsCheckDeadLetters", "QueueName"]}
    )


def test_the_daily_metadata_refresh_has_a_dead_letter_queue_and_alarms() -> None:
    refresh = RESOURCES["MetadataRefreshFunction"]["Properties"]
    queue_arn = {"Fn::GetAtt": ["MetadataRefreshDeadLetters", "Arn"]}
    schedule = refresh["Events"]["Daily"]["Properties"]
    assert schedule["ScheduleExpression"] == "rate(1 day)"
    assert schedule["DeadLetterConfig"] == {"Arn": queue_arn}
    assert refresh["EventInvokeConfig"]["DestinationConfig"]["OnFailure"] == {"Type": "SQS", "Destination": queue_arn}
    assert refresh["ReservedConcurrentExecutions"] == 1
    assert RESOURCES["MetadataRefreshDeadLetters"]["Properties"]["SqsManagedSseEnabled"] is True
    statement = RESOURCES["MetadataRefreshDeadLettersPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    queue = {"Fn::GetAtt": ["MetadataRefreshDeadLetters", "QueueName"]}
    assert alarms_on("AWS/SQS", "ApproximateNumberOfMessagesVisible", QueueName=queue)
    assert alarms_on("EnterpriseSSO", "MetadataRefreshFailed")
    # Least privilege: the due-checks index only, no scan, no delete.
    actions = {
        a
        for st in refresh["Policies"][0]["Statement"]
        for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
    }
    assert not {"dynamodb:Scan", "dynamodb:BatchWriteItem"} & actions
    # It deletes only the certificate expiry index's items of the certificates it retires, never a connection.
    [delete] = [st for st in refresh["Policies"][0]["Statement"] if "dynamodb:DeleteItem" in st["Action"]]
    assert delete["Action"] == ["dynamodb:DeleteItem"]
    assert delete["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["CERTEXPIRY#*"]}}


def test_mail_bounces_and_complaints_are_alarmed() -> None:
    [bounces] = alarms_on("AWS/SES", "Reputation.BounceRate")
    [complaints] = alarms_on("AWS/SES", "Reputation.ComplaintRate")
    assert ALARMS[bounces]["Properties"]["Threshold"] <= 0.05
    assert ALARMS[complaints]["Properties"]["Threshold"] <= 0.001


def dashboard_body() -> str:
    return str(RESOURCES["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"])


def test_the_dashboard_shows_logins_latency_dns_checks_and_errors() -> None:
    body = dashboard_body()
    substituted = re.sub(r"\$\{[A-Za-z0-9:.]+\}", "x", body)
    widgets = json.loads(substituted)["widgets"]
    titles = {w["properties"]["title"]: w for w in widgets}
    logins = json.dumps(titles["Logins per minute"]["properties"]["metrics"])
    assert "SsoLoginSucceeded" in logins and "SsoLoginRefused" in logins
    assert titles["Logins per minute"]["properties"]["period"] == 60
    assert "SsoLoginRefusedByReason" in json.dumps(titles["Refusals per minute by reason"])
    latency = titles["Latency per route (ms, API access log)"]["properties"]
    assert latency["query"].startswith("SOURCE '${ApiAccessLogs}'".replace("${ApiAccessLogs}", "x"))
    assert "by routeKey" in latency["query"] and "pct(latency, 99)" in latency["query"]
    access_format = RESOURCES["HttpApi"]["Properties"]["AccessLogSettings"]["Format"]
    assert '"routeKey"' in access_format and '"latency"' in access_format
    dns = json.dumps(titles["DNS checks by outcome"]["properties"]["metrics"])
    assert all(m in dns for m in ("DomainsChecked", "DomainsVerified", "DomainsLost", "DomainCheck_verified"))
    errors = json.dumps(titles["Errors"]["properties"]["metrics"])
    assert "5xx" in errors and 'MetricName=\\"Errors\\"' in errors
    # Every ${...} in the body names a template resource or pseudo parameter, so !Sub resolves it.
    for ref in re.findall(r"\$\{([A-Za-z0-9:.]+)\}", body):
        assert ref.startswith("AWS::") or ref.split(".")[0] in RESOURCES, ref


def test_every_checkov_skip_says_why() -> None:
    skips = [
        (name, skip)
        for name, res in RESOURCES.items()
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for name, skip in skips:
        assert re.fullmatch(r"CKV_AWS_\d+", skip["id"]), name
        assert len(skip.get("comment", "")) > 30, (name, skip["id"])
