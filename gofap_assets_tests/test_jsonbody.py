"""API bodies decode to exactly what the standard library makes of them, orjson or not."""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gofap_assets.lib import jsonbody

VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=4),
    max_leaves=12)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(value=VALUES, indent=st.sampled_from([None, 2]))
def test_any_body_decodes_as_the_standard_library_decodes_it(value: object,
                                                             indent: int | None) -> None:
    body = json.dumps(value, indent=indent, ensure_ascii=False).encode("utf-8", "surrogatepass")
    decoded = jsonbody.loads(body)
    expected = json.loads(body)
    assert decoded == expected
    assert json.dumps(decoded) == json.dumps(expected)  # same types: 2**70 stays an int


def test_what_orjson_refuses_still_decodes() -> None:
    assert jsonbody.loads(b'{"id": 18446744073709551616}') == {"id": 2**64}
    assert jsonbody.loads(b"[-9223372036854775809]") == [-(2**63) - 1]
    assert math.isnan(jsonbody.loads(b"[NaN]")[0])
    assert jsonbody.loads(b'["\\ud800"]') == ["\ud800"]
    assert jsonbody.loads("[1]".encode("utf-16")) == [1]
    assert jsonbody.loads(b"\xef\xbb\xbf[]") == []
    with pytest.raises(ValueError, match="line 1"):
        jsonbody.loads(b'[{"id": 1')
