"""The structured log lines the handlers print (Powertools Logger: one JSON object per line), and the HTTP API
events the gateway builds, so a test knows the request id each line must carry."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from sso_core.observability import logger
from sso_local import gateway, http_events


@contextmanager
def printed_log(level: str | None = None) -> Iterator[io.StringIO]:
    """What the service's logger prints meanwhile, exactly as formatted (its handler's stream is swapped: pytest's
    fd capture cannot see a stream the handler took at import). ``level``: log at least this level meanwhile."""
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    before_level = logger.log_level
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    if level:
        logger.setLevel(level)
    try:
        yield buffer
    finally:
        handler.setStream(previous)
        logger.setLevel(before_level)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def record_events(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every event the gateway builds from now on, in order."""
    built: list[dict[str, Any]] = []

    def recording(*args: Any, **kwargs: Any) -> dict[str, Any]:
        event = http_events.http_event(*args, **kwargs)
        built.append(event)
        return event

    monkeypatch.setattr(gateway, "http_event", recording)
    return built
