"""samconfig.toml has dev and prod environments whose overrides name real template parameters; prod confirms."""

from __future__ import annotations

import shlex
import tomllib

import pytest

from sso_local.template import REPO_ROOT, load_template

CONFIG = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text())
PARAMETERS = load_template()["Parameters"]


def overrides(env: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in shlex.split(CONFIG[env]["deploy"]["parameters"]["parameter_overrides"]))


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_each_environment_has_its_own_stack_and_every_required_parameter(env: str) -> None:
    deploy = CONFIG[env]["deploy"]["parameters"]
    assert deploy["stack_name"] == f"enterprise-sso-{env}"
    given = overrides(env)
    assert set(given) <= set(PARAMETERS), set(given) - set(PARAMETERS)
    required = {name for name, spec in PARAMETERS.items() if "Default" not in spec}
    assert required <= set(given), required - set(given)
    allowed = PARAMETERS["LogRetentionDays"]["AllowedValues"]
    assert int(given["LogRetentionDays"]) in allowed


def test_prod_stops_for_a_changeset_review_and_alarms_reach_someone() -> None:
    assert CONFIG["prod"]["deploy"]["parameters"]["confirm_changeset"] is True
    assert overrides("prod")["AlarmEmail"]
    assert CONFIG["dev"]["deploy"]["parameters"]["confirm_changeset"] is False
