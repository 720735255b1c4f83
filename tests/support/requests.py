"""Counting the AWS requests a piece of code makes (botocore event hooks)."""

from __future__ import annotations

from collections import Counter
from typing import Any


class RequestCounter:
    def __init__(self, client: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.items_returned = 0
        client.meta.events.register("before-call.dynamodb.*", self._before)
        client.meta.events.register("after-call.dynamodb.*", self._after)

    def _before(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def _after(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if model.name in ("Query", "Scan"):
            self.items_returned += int(parsed.get("Count", 0))

    @property
    def total(self) -> int:
        return sum(self.calls.values())
