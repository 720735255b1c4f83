"""The environment every test runs in (fake AWS credentials, the test table) and the caches that read it."""

from __future__ import annotations

from sso_core.aws_clients import reset_clients
from sso_core.config import get_settings
from sso_local.lambda_runtime import _loaded

TABLE = "sso-test"

BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "enterprise-sso",
    "POWERTOOLS_METRICS_NAMESPACE": "EnterpriseSSO",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_DEV": "false",
    "SSO_TABLE_NAME": TABLE,
    "SSO_PUBLIC_URL": "https://sso.test",
}


def clear_caches() -> None:
    """Forget every cached setting, AWS client and handler-level cache, so the next call reads the environment."""
    get_settings.cache_clear()
    reset_clients()
    for module in _loaded.values():
        for value in vars(module).values():
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", None) == module.__name__:
                clear()
