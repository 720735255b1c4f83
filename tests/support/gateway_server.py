"""The local stack's HTTP front (``sso_local.stack``'s request handler) serving one Gateway on 127.0.0.1, for
clients that speak real HTTP (a SCIM client library) against the API while AWS stays the test's moto."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

from sso_local.gateway import Gateway, GatewayResponse
from sso_local.stack import _handler_for


def _no_local_routes(*_: Any) -> GatewayResponse:
    return GatewayResponse(404, [("content-type", "application/json")], b'{"message":"Not Found"}')


class GatewayServer:
    """``with GatewayServer(gateway) as server:`` serves on a free port of 127.0.0.1 until the block ends."""

    def __init__(self, gateway: Gateway) -> None:
        stack = SimpleNamespace(quiet=True, gateway=gateway, local_route=_no_local_routes)
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(stack))  # type: ignore[arg-type]
        self._http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def __enter__(self) -> GatewayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)
