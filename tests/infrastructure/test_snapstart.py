"""SnapStart, simulated: the ACS handler initialises, the before-snapshot hooks run, then the
process forks twice (each child is an instance restored from the same memory image) and each
child runs the after-restore hooks. What must differ per instance differs; what the snapshot
holds carries no secret and no client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
LAYER = REPO_ROOT / "layers" / "sso_core"

_SIMULATION = r"""
import json, os, random, sys
import app  # the ACS handler: registers the hooks at import, as in Lambda
import snapshot_restore_py as hooks
from sso_core import aws_clients
from sso_core.gateways import sp_keys
from sso_core.logic.assertion_consumer import new_reference
from sso_core.saml import pysaml2_config

RUN_RESTORE_HOOKS = sys.argv[1] == "hooks"

# Init-time state a snapshot would capture: a client made and a key cached during init.
random.seed(1234)
aws_clients.aws_client("dynamodb", "AWS_ENDPOINT_URL_DYNAMODB")
sp_keys._cache["init-secret"] = (0.0, sp_keys.SpKeys("key", "cert"))

for func, args, kwargs in hooks.get_before_snapshot():
    func(*args, **kwargs)
snapshot = {
    "xmlschema_built": "xmlschema" in sys.modules,
    "schema_compiled": __import__("saml2.xml.schema").xml.schema._schema_validator_default._local.schema is not None,
    "pysaml2_clients": pysaml2_config.sp_client.cache_info().currsize,
}
# A restore copies memory as it was; fork re-seeds ``random`` in the child (os.register_at_fork),
# which a SnapStart restore does not: put the snapshot's generator state back to be faithful.
RANDOM_IN_SNAPSHOT = random.getstate()

def instance():
    random.setstate(RANDOM_IN_SNAPSHOT)
    if RUN_RESTORE_HOOKS:
        for func, args, kwargs in hooks.get_after_restore():
            func(*args, **kwargs)
    return {
        "random": random.random(),
        "reference": new_reference(),
        "urandom": os.urandom(8).hex(),
        "clients": aws_clients._client.cache_info().currsize,
        "sp_keys_cached": len(sp_keys._cache),
    }

children = []
for _ in range(2):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        os.write(write, json.dumps(instance()).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        children.append(json.loads(pipe.read()))
    os.waitpid(pid, 0)
print(json.dumps({"snapshot": snapshot, "instances": children}))
"""


def _simulate(mode: str) -> dict:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{LAYER}:{REPO_ROOT / 'functions' / 'acs'}",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "SSO_TABLE_NAME": "t",
        "POWERTOOLS_SERVICE_NAME": "test",
    }
    result = subprocess.run(
        [sys.executable, "-c", _SIMULATION, mode],
        cwd=str(REPO_ROOT / "functions" / "acs"),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_restored_instances_do_not_share_random_state_clients_or_secrets():
    found = _simulate("hooks")
    assert found["snapshot"] == {"xmlschema_built": False, "schema_compiled": True, "pysaml2_clients": 0}
    first, second = found["instances"]
    assert first["random"] != second["random"]
    assert first["reference"] != second["reference"]
    assert first["urandom"] != second["urandom"]
    for instance in (first, second):
        assert instance["clients"] == 0  # made again, with this instance's credentials and sockets
        assert instance["sp_keys_cached"] == 0


def test_without_the_hooks_the_instances_would_share_them():
    """The control: the simulation can fail. Forked from one image, ``random`` repeats itself and
    the init-time client and cached key survive; the kernel's generator (``secrets``) does not repeat."""
    first, second = _simulate("none")["instances"]
    assert first["random"] == second["random"]
    assert first["clients"] == 1 and first["sp_keys_cached"] == 1
    assert first["reference"] != second["reference"]
    assert first["urandom"] != second["urandom"]


def test_the_saml_functions_use_snapstart_with_a_published_alias_and_register_the_hooks():
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    resources = yaml.load((REPO_ROOT / "template.yaml").read_text(), Loader=Loader)["Resources"]
    for name in ("AcsFunction", "LoginFunction", "MetadataFunction"):
        properties = resources[name]["Properties"]
        assert properties["SnapStart"] == {"ApplyOn": "PublishedVersions"}, name
        assert properties["AutoPublishAlias"], name
        handler = (REPO_ROOT / properties["CodeUri"] / "app.py").read_text()
        assert "snapstart.register()" in handler, name
