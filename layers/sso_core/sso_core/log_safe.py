"""One helper for text that came from outside (a SAML message, metadata) and goes into a log line or the trace.

``bounded`` keeps printable ASCII only (anything else becomes ``?``: no control characters, no terminal escapes,
no line breaks to forge log lines) and caps the length, ending a cut value with ``...``.
"""

from __future__ import annotations

DETAIL_LIMIT = 120  # one value taken from a message
SENTENCE_LIMIT = 300  # a whole refusal detail (a sentence around such values)


def bounded(value: object, limit: int = DETAIL_LIMIT) -> str:
    text = value if isinstance(value, str) else str(value)
    cut = len(text) > limit
    head = text[: limit - 3] if cut else text
    safe = "".join(c if " " <= c <= "~" else "?" for c in head)
    return safe + "..." if cut else safe
