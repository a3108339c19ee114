"""Decoding API bodies: orjson for the common page, the standard library for the rest.

orjson is several times faster, but it refuses what `json` accepts (UTF-16/32, a BOM, NaN,
lone surrogate escapes) and turns integers past 64 bits into floats. Those bodies go to the
standard library, so every body decodes to exactly the values it did before.
"""

import json
from typing import Any

import orjson

_DIGITS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x2E for byte in range(256))
"""Maps every digit to "0" and everything else to ".", to find long digit runs in C."""
_LONG_NUMBER = b"0" * 19
"""Integers this long may not fit 64 bits (orjson would return a float for them)."""


def loads(content: bytes) -> Any:
    """The body's JSON value; ValueError (as `json.loads` raises it) when it is not JSON."""
    if _LONG_NUMBER not in content.translate(_DIGITS):
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            pass  # the standard library decides, and names the problem
    return json.loads(content)
