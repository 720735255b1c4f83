"""Fixtures of the OpenAPI tests: the local stack in this process, serving the document it is checked against."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sso_local.stack import LocalStack


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalStack]:
    monkeypatch.delenv("SSO_DNS_NAMESERVERS", raising=False)
    monkeypatch.setenv("SSO_LOCAL_OUTBOX", str(tmp_path / "outbox"))
    with LocalStack(port=0, state_dir=tmp_path / "state", dns_check_interval=0, quiet=True) as running:
        yield running
