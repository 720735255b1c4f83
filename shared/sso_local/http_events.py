"""HTTP API (payload format 2.0) events, as API Gateway builds them."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs


def claim_value(value: Any) -> str:
    """API Gateway hands JWT claims to Lambda as strings; arrays become '[a b]'."""
    if isinstance(value, list):
        return "[" + " ".join(str(v) for v in value) + "]"
    return str(value)


def http_event(
    method: str,
    path: str,
    *,
    route_path: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    query: str = "",
    headers: Mapping[str, str] | None = None,
    body: bytes | str | None = None,
    claims: Mapping[str, Any] | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
    route_key = f"{method.upper()} {route_path or path}"
    is_b64 = False
    text_body: str | None
    if body is None or body == b"" or body == "":
        text_body = None
    elif isinstance(body, bytes):
        content_type = headers.get("content-type", "")
        if content_type.startswith(("application/json", "text/", "application/x-www-form-urlencoded")):
            text_body = body.decode("utf-8", errors="replace")
        else:
            text_body, is_b64 = base64.b64encode(body).decode("ascii"), True
    else:
        text_body = body
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": headers.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": is_b64,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in parse_qs(query, keep_blank_values=True).items()}
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if text_body is not None:
        event["body"] = text_body
    if claims is not None:
        event["requestContext"]["authorizer"] = {
            "jwt": {"claims": {k: claim_value(v) for k, v in claims.items()}, "scopes": None}
        }
    return event


def scheduled_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "000000000000",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": "us-east-1",
        "resources": ["arn:aws:scheduler:us-east-1:000000000000:schedule/default/dns-check"],
        "detail": {},
    }
