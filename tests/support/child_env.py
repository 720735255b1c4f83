"""The environment of a Python process a test starts (`sso-local run`, `sso-local token`).

Such a test builds the environment from nothing, so that the child sees only what a newcomer's shell would
have. When the suite is measured (`make test`), coverage's own variable is passed on as well, so the child's
lines are counted with the rest (the coverage configuration in pyproject.toml turns on its subprocess patch).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

COVERAGE_VARIABLES = ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START")


def child_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` plus coverage's start-up variable when this process is being measured."""
    passed = {name: os.environ[name] for name in COVERAGE_VARIABLES if name in os.environ}
    return {**env, **passed}
