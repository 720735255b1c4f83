"""The SAML assertion consumer service (public): validates the IdP's POST completely, then hands a one-time code
to the application. Failures show "SSO auth failed" and a reference; the reason goes to the login trace."""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sso_core import snapstart
from sso_core.config import get_settings
from sso_core.dal.table import Table
from sso_core.edge.cookies import expired_binding_cookie, expired_test_mark
from sso_core.edge.http import create_resolver
from sso_core.edge.pages import (
    connection_test_failed,
    connection_test_passed,
    html_response,
    sso_failed,
    sso_unsolicited,
)
from sso_core.logic.assertion_consumer import AcsResult, AcsService, new_reference
from sso_core.models.login_outcomes import Refusal, page_status
from sso_core.observability import logger, metrics, tracer

app = create_resolver()
snapstart.register()  # SnapStart: warm before the snapshot, re-seed after each restore
MAX_FORM_BYTES = 400 * 1024  # the SAMLResponse itself is capped at 256 KiB by the validator


@cache
def service() -> AcsService:
    settings = get_settings()
    return AcsService(settings, Table(settings.table_name))


@app.post("/saml/<connection_id>/acs")
def acs(connection_id: str) -> Response:
    event = app.current_event
    try:
        raw = event.decoded_body or ""
    except UnicodeDecodeError:  # a body API Gateway passed as base64 that is not UTF-8 text (found by tests/fuzz)
        refused = service().refuse_unread(connection_id, Refusal.MALFORMED, "the form is not UTF-8 text")
        return html_response(page_status(refused.reason), sso_failed(refused.reference))
    if len(raw) > MAX_FORM_BYTES:
        refused = service().refuse_unread(connection_id, Refusal.TOO_LARGE, "the form is larger than 400 KiB")
        return html_response(413, sso_failed(refused.reference))  # a body the edge will not read: 413
    try:
        form = parse_qs(raw, max_num_fields=8, keep_blank_values=True) if raw else {}
    except ValueError:  # more fields than an IdP ever posts
        refused = service().refuse_unread(connection_id, Refusal.MALFORMED, "the form could not be read")
        return html_response(page_status(refused.reason), sso_failed(refused.reference))
    cookies: dict[str, str] = {}
    for pair in event.cookies or []:
        name, _, value = pair.partition("=")
        cookies.setdefault(name.strip(), value.strip())
    result = service().consume(connection_id, (form.get("SAMLResponse") or [None])[0], cookies)
    if result.outcome in ("test_success", "test_failed"):
        return _test_page(connection_id, result)
    if result.outcome == "success" and result.redirect_url:
        expire = [expired_binding_cookie(result.clear_cookie)] if result.clear_cookie is not None else []
        return Response(
            status_code=302,
            headers={"Location": result.redirect_url, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
            cookies=expire,
            body="",
        )
    if result.outcome == "unsolicited":
        return html_response(400, sso_unsolicited(result.reference))
    return html_response(page_status(result.reason), sso_failed(result.reference))


def _test_page(connection_id: str, result: AcsResult) -> Response:
    """A connection test's answer: what the IdP sent, or why it was refused; never a code or a redirect."""
    expire = [expired_test_mark(get_settings().public_path(f"/saml/{connection_id}/acs"))]
    if result.clear_cookie is not None:
        expire.append(expired_binding_cookie(result.clear_cookie))
    if result.outcome == "test_success" and result.test_report is not None:
        return html_response(200, connection_test_passed(result.test_report, result.reference), cookies=expire)
    page = connection_test_failed(result.reason, result.detail, result.reference, result.idp_status)
    return html_response(page_status(result.reason), page, cookies=expire)


@app.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response:
    """The browser gets the failure page, whatever broke; the log gets the error under the same reference."""
    reference = new_reference()
    connection_id = (app.current_event.path_parameters or {}).get("connection_id")
    logger.append_keys(login_reference=reference)
    logger.exception(
        "ACS failed", extra={"reference": reference, "connection_id": connection_id, "error_type": type(exc).__name__}
    )
    return html_response(500, sso_failed(reference))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
