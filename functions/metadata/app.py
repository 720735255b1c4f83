"""SP metadata and SP certificate (public), per connection."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from sso_core import snapstart
from sso_core.config import get_settings
from sso_core.dal.connections import ConnectionRepository
from sso_core.dal.table import Table
from sso_core.edge.http import create_resolver
from sso_core.logic.login_start import sp_identity
from sso_core.logic.tenant_scope import ConnectionNotFound
from sso_core.observability import logger, metrics, tracer
from sso_core.saml import sp_metadata_xml

app = create_resolver()
snapstart.register()  # SnapStart: warm before the snapshot, re-seed after each restore
PUBLIC_CACHE = {"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"}


@cache
def connections() -> ConnectionRepository:
    return ConnectionRepository(Table(get_settings().table_name))


def _existing(connection_id: str) -> str:
    if connections().get(connection_id) is None:
        raise ConnectionNotFound()
    return connection_id


@app.get("/saml/<connection_id>/metadata")
def metadata(connection_id: str) -> Response:
    sp = sp_identity(get_settings(), _existing(connection_id))
    return Response(
        status_code=200,
        content_type="application/samlmetadata+xml",
        body=sp_metadata_xml(sp),
        headers={**PUBLIC_CACHE, "Content-Disposition": f'inline; filename="{connection_id}-metadata.xml"'},
    )


@app.get("/saml/<connection_id>/certificate")
def certificate(connection_id: str) -> Response:
    sp = sp_identity(get_settings(), _existing(connection_id))
    return Response(
        status_code=200,
        content_type="application/x-pem-file",
        body=sp.cert_pem,
        headers={**PUBLIC_CACHE, "Content-Disposition": f'attachment; filename="{connection_id}-sp-signing.pem"'},
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
