"""Why the local stack runs one event at a time in its process, not one per function (docs/decisions.md).

Lambda never runs two events in one process. The local stack runs every function in one process; Powertools
keeps the event being resolved in a class attribute shared by every resolver of the process, so the only faithful
model is one event at a time per process, which ``Gateway(one_event_at_a_time=True)`` (the local stack's) is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from sso_core.edge.http import create_resolver, json_response
from sso_local import gateway as gateway_module
from sso_local.gateway import Gateway
from sso_local.http_events import http_event
from sso_local.lambda_runtime import FakeLambdaContext
from sso_local.tokens import TokenAuthority


def test_two_functions_resolvers_read_each_others_event() -> None:
    """Two resolvers (two functions' ``app``) in two threads: the first reads the second's event. So serialising
    per function does not isolate events; Lambda's isolation is the process."""
    acs_app, login_app = create_resolver(), create_resolver()
    acs_inside, login_done = threading.Event(), threading.Event()
    seen: dict[str, Any] = {}

    @acs_app.post("/saml/<connection_id>/acs")
    def acs(connection_id: str) -> Any:
        acs_inside.set()
        assert login_done.wait(10)
        seen["acs_reads"] = acs_app.current_event.raw_event["rawPath"]
        return json_response(200, {})

    @login_app.get("/saml/<connection_id>/login")
    def login(connection_id: str) -> Any:
        return json_response(200, {})

    acs_event = http_event("POST", "/saml/c1/acs", route_path="/saml/{connection_id}/acs", body="SAMLResponse=x")
    login_event = http_event("GET", "/saml/c2/login", route_path="/saml/{connection_id}/login")
    first = threading.Thread(target=acs_app.resolve, args=(acs_event, FakeLambdaContext()))
    first.start()
    assert acs_inside.wait(10)  # the ACS handler is running, inside its resolve
    login_app.resolve(login_event, FakeLambdaContext())
    login_done.set()
    first.join()
    assert seen["acs_reads"] == "/saml/c2/login"


def overlap(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> int:
    """The most handlers running at once while 8 threads call three different public functions."""
    running = 0
    most = 0
    lock = threading.Lock()

    def counting_invoke(code_dir: Path, event: dict[str, Any], timeout_seconds: float = 30.0) -> Any:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return {"statusCode": 204}

    monkeypatch.setattr(gateway_module, "invoke", counting_invoke)
    calls: list[Callable[[], Any]] = [
        lambda: gateway.handle("GET", "/saml/c1/metadata"),
        lambda: gateway.handle("GET", "/saml/c1/login"),
        lambda: gateway.handle("POST", "/saml/c1/acs", body="SAMLResponse=x"),
    ]
    with ThreadPoolExecutor(8) as pool:
        for result in pool.map(lambda i: calls[i % 3](), range(48)):
            assert result.status == 204
    return most


def test_the_local_stack_runs_one_event_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    authority = TokenAuthority(tmp_path)
    assert overlap(Gateway(authority, one_event_at_a_time=True), monkeypatch) == 1
    assert overlap(Gateway(authority), monkeypatch) > 1  # the staged-race mode really overlaps
