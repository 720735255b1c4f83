"""`sso-local run` started in a process of its own (as `make run` does), and what it printed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass
class RunningStack:
    """`sso-local run` in a process of its own, and what it printed."""

    url: str
    printed: str
    outbox: Path
    log: Path

    @property
    def owner_token(self) -> str:
        match = re.search(r"^  export TOKEN=(\S+)$", self.printed, re.M)
        assert match, self.printed
        return match.group(1)
