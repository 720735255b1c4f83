"""The fuzz targets' shared engine: one SP, one real pysaml2 IdP, one genuinely signed response; and the
Hypothesis settings per target (seeded inside the suite, bounded by FUZZ_INPUTS in `make fuzz`)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from hypothesis import HealthCheck, settings

from sso_core.saml import IdpSettings, SpIdentity, generate_sp_keypair
from sso_core.saml.sp import sp_metadata_xml
from sso_local.saml_idp import IdpKeys, RealIdp
from tests.fuzz.mutations import Seed

# Share of FUZZ_INPUTS per target, and the number of inputs of the seeded run in the normal suite.
WEIGHTS = {"acs_validator": 0.25, "idp_metadata": 0.20, "acs_route": 0.10, "domain_names": 0.45}
SEEDED = {"acs_validator": 150, "idp_metadata": 100, "acs_route": 50, "domain_names": 300}
BOUNDED = bool(os.environ.get("FUZZ_INPUTS"))


def fuzz_settings(target: str) -> settings:
    total = int(os.environ.get("FUZZ_INPUTS") or 0)
    return settings(
        max_examples=int(total * WEIGHTS[target]) if total else SEEDED[target],
        derandomize=not total,  # the normal suite's run is the same every time
        database=None,
        deadline=None,  # the one-second limit is checked per input in CPU time (record.run_one)
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


SP_ENTITY_ID = "https://sso.example.com/saml/sp"
ACS_URL = "https://sso.example.com/saml/acs"
IDP_ENTITY_ID = "https://sts.windows.net/fuzz-0000-4000-8000-000000000001/"
IDP_SSO_URL = "https://login.microsoftonline.com/fuzz-0000-4000-8000-000000000001/saml2"
REQUEST_ID = "_fuzz4f6c2a9e0b7d41c3a8e5f1d2c3b4a59687766"


class Engine:
    """One SP, one real pysaml2 IdP, and one genuinely signed response, fixed at ``now``."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)
        sp_key, sp_cert = generate_sp_keypair("sso.example.com", self.now)
        self.sp = SpIdentity(SP_ENTITY_ID, ACS_URL, "https://sso.example.com/login", sp_key, sp_cert)
        idp_key, idp_cert = generate_sp_keypair("fuzz-idp", self.now)
        self.idp = RealIdp(IDP_ENTITY_ID, IDP_SSO_URL, IdpKeys(idp_key, idp_cert), sp_metadata_xml(self.sp))
        self.settings = IdpSettings(IDP_ENTITY_ID, IDP_SSO_URL, (idp_cert,), "post", True)
        response = self.idp.response_xml(
            sp_entity_id=SP_ENTITY_ID, acs_url=ACS_URL, in_response_to=REQUEST_ID, name_id="alice@contoso.com"
        ).encode("utf-8")
        self.response = Seed(response)
        self.metadata = Seed(self.idp.metadata_xml().encode("utf-8"))
