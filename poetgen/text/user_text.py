"""User text at the door: text that cannot be read as characters (a lone surrogate from a
forged request, control characters) is refused by name before any conversion meets it."""

from __future__ import annotations

import re

from ..errors import GenerationError

# Lone surrogates cannot be encoded (OpenCC and every writer fail on them); C0/C1 controls other
# than line breaks and tabs are never part of a poem.
_UNREADABLE = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def readable(text: str, what: str) -> str:
    """`text` itself, or a GenerationError naming `what` holds characters that are not text."""
    if _UNREADABLE.search(text):
        raise GenerationError("unreadable", what=what)
    return text
