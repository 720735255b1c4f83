"""The kill switches' request body: Enterprise SSO per connection, password login per domain."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Toggle(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    enabled: bool
