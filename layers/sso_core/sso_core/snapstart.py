"""SnapStart runtime hooks of the SAML functions (ACS, login, metadata).

Lambda takes one snapshot of an initialised function and resumes many instances from it, so
whatever the snapshot holds is shared by all of them. Before the snapshot we warm only what no
connection, no secret and no instance determines; after each restore we drop or re-seed every
piece of state that must differ per instance or must not outlive it. The audit behind the two
lists is in docs/decisions.md ("SnapStart: what a snapshot may hold").

- ``warm`` (before the snapshot): the SAML engine's modules, pysaml2's schema check compiled
  on libxml2 for this thread, the hardened parser, the public-suffix list. Never: boto3
  clients (credentials, pooled sockets), the SP key pair or the client secret (secrets),
  per-connection pysaml2 clients (they hold the SP private key).
- ``reseed`` (after each restore): ``random`` re-seeded from the OS, boto3 clients, the SP key
  and client-secret caches, per-connection pysaml2 clients and the parsed SP private keys
  dropped. ``secrets``, ``uuid.uuid4`` and pysaml2's ``SystemRandom`` read the kernel's
  generator at every call and keep no state in the process, so they need nothing.
"""

from __future__ import annotations

import random

from snapshot_restore_py import register_after_restore, register_before_snapshot

_registered = False


def warm() -> None:
    """Build what every login needs and nothing instance-, connection- or secret-specific."""
    import saml2.xml.schema

    from sso_core.models.domain_names import _psl
    from sso_core.saml import response_validation, safe_xml, sp  # noqa: F401 - imported to be in the snapshot

    validator = saml2.xml.schema._schema_validator_default
    compile_schema = getattr(validator, "_schema", None)
    if compile_schema is not None:  # the libxml2 validator: compile the SAML schemas once
        compile_schema()
    safe_xml.parse("<warm/>")
    _psl()


def reseed() -> None:
    """Forget or re-seed everything a restored instance must not share with its siblings."""
    from sso_core.aws_clients import reset_clients
    from sso_core.gateways import sp_keys
    from sso_core.logic import code_redemption
    from sso_core.saml import pysaml2_config
    from sso_core.saml import sp as saml_sp

    random.seed()  # from os.urandom: the Mersenne Twister state in the snapshot is the same everywhere
    reset_clients()
    sp_keys.clear_cache()
    code_redemption._secret_cache.clear()
    pysaml2_config.sp_client.cache_clear()
    saml_sp._rsa_private_key.cache_clear()
    saml_sp.sp_metadata_xml.cache_clear()


def register() -> None:
    """Register both hooks once per process (the handlers of the SnapStart functions call this)."""
    global _registered
    if _registered:
        return
    register_before_snapshot(warm)
    register_after_restore(reseed)
    _registered = True
