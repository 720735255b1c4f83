"""axe-core on a page in headless Chromium: no serious or critical violation."""

from __future__ import annotations

import json
from typing import Any

BLOCKING = ("serious", "critical")


def assert_accessible(page: Any, name: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    blocking = [v for v in results.response["violations"] if v.get("impact") in BLOCKING]
    assert not blocking, f"{name}: " + json.dumps(
        [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]} for v in blocking],
        indent=1,
    )
