"""A page of a list that existed before it was paginated (domains, invitations, users).

``next_cursor`` is there while more pages follow and absent on the last one, so a response of a short list is
exactly what it was before pagination (``{"domains": [...]}``): clients that never page keep working.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SerializerFunctionWrapHandler, model_serializer


class CursorPage(BaseModel):
    next_cursor: str | None = None

    @model_serializer(mode="wrap")
    def _without_end_cursor(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict) and data.get("next_cursor") is None:
            data.pop("next_cursor", None)
        return data
