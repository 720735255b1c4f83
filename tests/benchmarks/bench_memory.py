"""Peak RSS of each handler after warm invocations (issue 14, target 5), one fresh process each.

    python -m tests.benchmarks.bench_memory

A moto server on 127.0.0.1 holds the table (so moto's own memory stays out of the handler's
process). Each handler's process imports it as Lambda would (layer first on the path), then
invokes it twice through one of its own routes, with an owner's claims; the SAML functions also
run their engine twice on real material made beforehand by a pysaml2 IdP: the ACS validates an
Entra-shaped response, login builds a signed AuthnRequest, metadata renders the SP metadata.
The peak resident set (``VmHWM`` of ``/proc/self/status``: ``ru_maxrss`` would count the
parent's pages at the fork as well) is read at the end. The ``baseline`` row is the same process without any handler
(the interpreter, the local event builder): a handler's own share is its figure minus that one.
Also printed: the warm duration of the second invocation, the input to the MemorySize choice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "sso_core"

_CHILD = r"""
import json, os, sys, time
from pathlib import Path
spec = json.loads(Path(sys.argv[1]).read_text())
function = sys.argv[2]
from sso_local.gateway import http_event
from sso_local.lambda_runtime import FakeLambdaContext
durations = []
if function != "baseline":
    import app
    route = spec["routes"][function]
    params = {name: "x" for name in route["params"]}
    path = route["path"]
    for name in params:
        path = path.replace("{" + name + "}", "x")
    claims = {"tenant_id": "acme", "roles": ["owner"], "email": "owner@acme.test"}
    for _ in range(2):
        event = http_event(route["method"], path, route_path=route["path"], path_parameters=params,
                           query="", headers={"content-type": "application/json"}, body=None,
                           claims=None if route["public"] else claims)
        start = time.perf_counter()
        app.lambda_handler(event, FakeLambdaContext())
        durations.append((time.perf_counter() - start) * 1000)
    saml = spec["saml"]
    if function in ("acs", "login", "metadata"):
        from datetime import datetime
        from sso_core.saml import IdpSettings, SpIdentity, build_authn_request, sp_metadata_xml, validate_response
        sp = SpIdentity(saml["sp_entity_id"], saml["acs_url"], saml["sign_in_url"], saml["sp_key"], saml["sp_cert"])
        idp = IdpSettings(saml["idp_entity_id"], saml["idp_sso_url"], (saml["idp_cert"],), "post", True)
        now = datetime.fromisoformat(saml["now"])
        for _ in range(2):
            start = time.perf_counter()
            if function == "acs":
                validate_response(saml["response"], sp=sp, idp=idp, now=now)
            elif function == "login":
                build_authn_request(sp, idp, "r", now)
            else:
                sp_metadata_xml(sp)
            durations.append((time.perf_counter() - start) * 1000)
# VmHWM, the peak resident set of this program: ru_maxrss would also count the parent's pages at fork.
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"maxrss_mb": peak_kb / 1024, "durations": durations}))
"""


def _material() -> dict[str, Any]:
    from sso_core.saml import generate_sp_keypair
    from sso_core.saml.sp import sp_metadata_xml
    from sso_local.saml_idp import RealIdp, b64
    from tests.benchmarks import bench_acs
    from tests.support.keys import make_keypair

    now = datetime.now(UTC)
    sp_key, sp_cert = generate_sp_keypair("sso.example.com", now)
    from sso_core.saml import SpIdentity

    sp = SpIdentity(bench_acs.SP_ENTITY_ID, bench_acs.ACS_URL, "https://sso.example.com/login", sp_key, sp_cert)
    keys = make_keypair("idp", bits=2048)
    idp = RealIdp(bench_acs.IDP_ENTITY_ID, bench_acs.IDP_SSO_URL, keys, sp_metadata_xml(sp))
    xml = idp.response_xml(
        sp_entity_id=sp.entity_id, acs_url=sp.acs_url, in_response_to=bench_acs.REQUEST_ID, name_id="alice@contoso.com"
    )
    return {
        "sp_entity_id": sp.entity_id,
        "acs_url": sp.acs_url,
        "sign_in_url": sp.sign_in_url,
        "sp_key": sp_key,
        "sp_cert": sp_cert,
        "idp_entity_id": bench_acs.IDP_ENTITY_ID,
        "idp_sso_url": bench_acs.IDP_SSO_URL,
        "idp_cert": keys.cert_pem,
        "response": b64(xml),
        "now": now.isoformat(),
    }


def _routes() -> dict[str, dict[str, Any]]:
    from sso_local.template import routes

    chosen: dict[str, dict[str, Any]] = {}
    for route in routes():
        name = route.code_dir.name
        current = chosen.get(name)
        if current is None or (current["method"] != "GET" and route.method == "GET"):
            params = [part[1:-1] for part in route.path.strip("/").split("/") if part.startswith("{")]
            chosen[name] = {"method": route.method, "path": route.path, "params": params, "public": route.public}
    return chosen


def main() -> dict[str, Any]:
    import logging

    from moto.server import ThreadedMotoServer

    from sso_local import moto_patches
    from sso_local.dns_server import free_port

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto_patches.install()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    results: dict[str, Any] = {}
    try:
        import boto3

        from sso_local.template import create_table

        endpoint = f"http://127.0.0.1:{port}"
        client = boto3.client(
            "dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="b", aws_secret_access_key="b"
        )
        create_table(client, "sso-memory")
        spec = {"routes": _routes(), "saml": _material()}
        with tempfile.TemporaryDirectory() as state:
            spec_file = Path(state) / "spec.json"
            spec_file.write_text(json.dumps(spec))
            names = ["baseline", *sorted(spec["routes"])]
            for name in names:
                cwd = ROOT / "functions" / name if name != "baseline" else ROOT
                env = {
                    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "PYTHONPATH": os.pathsep.join([str(LAYER), str(cwd), str(ROOT)]),
                    "AWS_ENDPOINT_URL": endpoint,
                    "AWS_DEFAULT_REGION": "us-east-1",
                    "AWS_REGION": "us-east-1",
                    "AWS_ACCESS_KEY_ID": "b",
                    "AWS_SECRET_ACCESS_KEY": "b",
                    "SSO_TABLE_NAME": "sso-memory",
                    "SSO_PUBLIC_URL": "https://sso.example.com",
                    "SSO_LOCAL_OUTBOX": str(Path(state) / "outbox"),
                    "POWERTOOLS_SERVICE_NAME": "enterprise-sso",
                    "POWERTOOLS_METRICS_NAMESPACE": "EnterpriseSSO",
                    "POWERTOOLS_TRACE_DISABLED": "true",
                    "POWERTOOLS_METRICS_DISABLED": "true",
                    "POWERTOOLS_LOG_LEVEL": "ERROR",
                }
                out = subprocess.run(
                    [sys.executable, "-c", _CHILD, str(spec_file), name],
                    cwd=str(cwd),
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        server.stop()

    baseline = results["baseline"]["maxrss_mb"]
    print("Peak RSS per handler after two warm invocations (fresh process each, VmHWM)")
    print(f"  {'baseline':<12} {baseline:6.1f} MB   (interpreter + local event builder, no handler)")
    for name, found in results.items():
        if name == "baseline":
            continue
        warm = found["durations"][1] if len(found["durations"]) > 1 else float("nan")
        engine = found["durations"][3] if len(found["durations"]) > 3 else None
        extra = f"   SAML engine warm {engine:6.1f} ms" if engine is not None else ""
        print(
            f"  {name:<12} {found['maxrss_mb']:6.1f} MB   handler's own {found['maxrss_mb'] - baseline:6.1f} MB"
            f"   warm route {warm:6.1f} ms{extra}"
        )
    return results


if __name__ == "__main__":
    main()
