"""Plays API Gateway: matches a request to a route of template.yaml, checks the bearer token as the JWT
authorizer would, calls the handler with an HTTP API v2.0 event, and turns its result into a response.
"""

from __future__ import annotations

import base64
import json
import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from .http_events import http_event
from .lambda_runtime import invoke
from .template import Route, routes
from .tokens import TokenAuthority, TokenRejected


@dataclass
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def header_all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


class Gateway:
    """``one_event_at_a_time``: the process handles one event at a time, as one Lambda execution environment does.

    Per function is not enough: Powertools keeps the event being resolved in a class attribute
    (``BaseRouter.current_event``), one per process, so two handlers of *different* functions running in two
    threads read each other's event (tests/concurrency/test_local_stack_model.py). Lambda never runs two events in
    one process, so this lock is the model, not a workaround. Tests that stage races on DynamoDB leave it off and
    accept that their threads share that state (docs/decisions.md)."""

    def __init__(
        self,
        authority: TokenAuthority,
        route_table: list[Route] | None = None,
        one_event_at_a_time: bool = False,
        base_path: str = "",
    ) -> None:
        self.authority = authority
        # An API mapping's base path ('/sso'): routes match what follows it, and the handler gets the whole path
        # (rawPath keeps the base path, as API Gateway sends it behind a custom domain's mapping).
        self.base_path = base_path.rstrip("/")
        self.routes = route_table if route_table is not None else routes()
        self._lock: threading.Lock | None = threading.Lock() if one_event_at_a_time else None

    def route_path(self, path: str) -> str:
        """The path routes match: ``path`` without the base path (calls from inside the stack come without it)."""
        base = self.base_path
        if base and (path == base or path.startswith(base + "/")):
            return path[len(base) :] or "/"
        return path

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        path = self.route_path(path)
        for route in self.routes:
            params = route.match(method, path)
            if params is not None:
                return route, params
        return None

    def handle(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: dict[str, str] | None = None,
        body: bytes | str | None = None,
    ) -> GatewayResponse:
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        found = self.find(method, path)
        if found is None:
            return GatewayResponse(404, [("content-type", "application/json")], b'{"message":"Not Found"}')
        route, params = found
        claims = None
        if not route.public:
            try:
                claims = self.authority.verify(headers.get("authorization"))
            except TokenRejected:
                return GatewayResponse(401, [("content-type", "application/json")], b'{"message":"Unauthorized"}')
        event = http_event(
            method,
            path,
            route_path=route.path,
            path_parameters=params,
            query=query,
            headers=headers,
            body=body,
            claims=claims,
        )
        with self.exclusive():
            return to_response(invoke(route.code_dir, event))

    def call(self, method: str, path: str, **kwargs: Any) -> GatewayResponse:
        """A call from inside the local stack (the application's server, the demo IdP), by the API's own path
        ('/sso/token'): sent under the base path, as those callers would send it from outside."""
        return self.handle(method, self.base_path + path, **kwargs)

    def exclusive(self) -> AbstractContextManager[object]:
        """Held while an event runs (a no-op when events may overlap): other invocations take it too."""
        return self._lock if self._lock is not None else nullcontext()


def to_response(result: Any) -> GatewayResponse:
    if not isinstance(result, dict) or "statusCode" not in result:
        # HTTP API treats a bare value as a 200 JSON body.
        return GatewayResponse(200, [("content-type", "application/json")], json.dumps(result).encode())
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    out = [(k, str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        out.extend((name, str(v)) for v in values)
    out.extend(("set-cookie", c) for c in result.get("cookies") or [])
    return GatewayResponse(int(result["statusCode"]), out, raw)
