"""Decoding API bodies: orjson for the common page, the standard library for the rest.

orjson is several times faster, but it refuses what `json` accepts (UTF-16/32, a BOM, NaN,
lone surrogate escapes) and turns integers past 64 bits into floats. Those bodies go to the
standard library, so every body decodes to exactly the values it did before.
"""

import json
from typing import Any

import orjson

_NUMBERS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x5E if byte in b":,[" else 0x2E
                 for byte in range(256))
"""Digits to "0", what may precede a number to "^", the rest to ".": long integers found in C."""
_IGNORED = b" \t\r\n-"
"""Whitespace and signs, deleted so that `[ -123...` reads as `^000...`."""
_LONG_NUMBER = b"0" * 19
"""Integers this long may not fit 64 bits (orjson would return a float for them)."""


def _long_integer(content: bytes) -> bool:
    """A number of 19 digits or more (or, rarely, such digits in a string: harmless)."""
    numbers = content.translate(_NUMBERS, _IGNORED)
    return b"^" + _LONG_NUMBER in numbers or numbers.startswith(_LONG_NUMBER)


def loads(content: bytes) -> Any:
    """The body's JSON value; ValueError (as `json.loads` raises it) when it is not JSON."""
    if not _long_integer(content):
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            pass  # the standard library decides, and names the problem
    return json.loads(content)
