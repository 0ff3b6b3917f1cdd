"""What a name must be to be one MQTT topic level (a device's level in ``linkmargin/v1/samples/NAME``).

Its own small module so that the inventory's validation (which must not load polars or pyarrow)
and :mod:`linkmargin.wire` (which re-exports both names) share the one rule.
"""

from __future__ import annotations

from typing import Final

__all__ = ["MAX_NAME_CHARS", "topic_safe"]

_TOPIC_UNSAFE: Final = frozenset("/+#\0")
MAX_NAME_CHARS: Final = 256


def topic_safe(name: str) -> bool:
    """Whether ``name`` can be one MQTT topic level (non-empty, no wildcard, separator or NUL)."""
    return 0 < len(name) <= MAX_NAME_CHARS and not (_TOPIC_UNSAFE & set(name))
