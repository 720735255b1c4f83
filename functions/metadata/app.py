"""SP metadata and SP certificate (public), per connection."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sso_core import snapstart
from sso_core.config import get_settings
from sso_core.dal.table import Table
from sso_core.edge.http import create_resolver
from sso_core.logic.sp_metadata import certificate_pem, metadata_xml
from sso_core.observability import logger, metrics, tracer

app = create_resolver()
snapstart.register()  # SnapStart: warm before the snapshot, re-seed after each restore
PUBLIC_CACHE = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}


@cache
def table() -> Table:
    return Table(get_settings().table_name)


@app.get("/saml/<connection_id>/metadata")
def metadata(connection_id: str) -> Response:
    return Response(
        status_code=200,
        content_type="application/samlmetadata+xml",
        body=metadata_xml(get_settings(), table(), connection_id),
        headers={**PUBLIC_CACHE, "Content-Disposition": f'inline; filename="{connection_id}-metadata.xml"'},
    )


@app.get("/saml/<connection_id>/certificate")
def certificate(connection_id: str) -> Response:
    """The current signing certificate; ``?which=next`` the one staged by a rotation (404 when none)."""
    which = app.current_event.get_query_string_value("which", "current") or "current"
    suffix = "-next" if which == "next" else ""
    return Response(
        status_code=200,
        content_type="application/x-pem-file",
        body=certificate_pem(get_settings(), table(), connection_id, which),
        headers={
            **PUBLIC_CACHE,
            "Content-Disposition": f'attachment; filename="{connection_id}-sp-signing{suffix}.pem"',
        },
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
