"""boto3 clients, made once per process and per endpoint (clients are thread-safe; making one costs ~50 ms).

The region and an endpoint override come from the environment at call time: ``AWS_ENDPOINT_URL_<SERVICE>`` or
``AWS_ENDPOINT_URL`` point the local stack and the tests at a moto server.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config


@lru_cache(maxsize=16)
def _client(service: str, region: str, endpoint: str | None, max_pool_connections: int) -> Any:
    config = Config(retries={"mode": "standard", "max_attempts": 4}, max_pool_connections=max_pool_connections)
    return boto3.client(service, region_name=region, endpoint_url=endpoint, config=config)


def aws_client(service: str, endpoint_env: str, max_pool_connections: int = 10) -> Any:
    """The cached client of ``service``; ``endpoint_env`` names its service-specific endpoint variable."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    endpoint = os.environ.get(endpoint_env) or os.environ.get("AWS_ENDPOINT_URL")
    return _client(service, region, endpoint or None, max_pool_connections)


def reset_clients() -> None:
    """Forget every client (tests and the local stack change endpoints between runs)."""
    _client.cache_clear()
