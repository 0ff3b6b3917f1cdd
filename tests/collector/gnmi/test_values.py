"""The gNMI value decoder: every encoding round-trips its value; no input makes it raise."""

from __future__ import annotations

import json
import math
import struct
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from collector.gnmi.values import decimal64, from_text, json_leaves, typed_leaves
from linkmargin.gnmi import gnmi_pb2 as g

finite = st.floats(allow_nan=False, allow_infinity=False)


def one(tv: g.TypedValue):
    leaves = typed_leaves(tv)
    assert len(leaves) == 1 and leaves[0][0] == ()
    return leaves[0][1]


@given(finite)
def test_double_val_round_trips(x: float) -> None:
    assert one(g.TypedValue(double_val=x)).value == x


@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_float_val_round_trips(x: float) -> None:
    assert one(g.TypedValue(float_val=x)).value == x


@given(st.integers(-(2**63), 2**63 - 1), st.integers(0, 30))
def test_decimal_val_is_digits_times_ten_to_minus_precision(d: int, p: int) -> None:
    got = one(g.TypedValue(decimal_val=g.Decimal64(digits=d, precision=p)))
    assert got.value == float(Decimal(d) / Decimal(10) ** p)
    assert got.problem is None


def test_decimal_val_optics_reading() -> None:
    assert one(g.TypedValue(decimal_val=g.Decimal64(digits=-231, precision=2))).value == -2.31


@given(st.integers(0, 2**64 - 1))
def test_uint_val_keeps_the_exact_counter(n: int) -> None:
    got = one(g.TypedValue(uint_val=n))
    assert got.counter == n and got.value == float(n)


@given(st.integers(-(2**63), 2**63 - 1))
def test_int_val(n: int) -> None:
    got = one(g.TypedValue(int_val=n))
    assert got.value == float(n)
    assert got.counter == (n if n >= 0 else None)


@given(st.booleans())
def test_bool_val(b: bool) -> None:
    assert one(g.TypedValue(bool_val=b)).value == (1.0 if b else 0.0)


@given(st.integers(0, 2**64 - 1))
def test_string_counters_are_exact(n: int) -> None:
    """SONiC and JSON_IETF send uint64 counters as strings: exact, not through a float."""
    assert one(g.TypedValue(string_val=str(n))).counter == n
    assert one(g.TypedValue(json_ietf_val=json.dumps(str(n)).encode())).counter == n
    assert one(g.TypedValue(json_val=str(n).encode())).counter == n


@given(st.integers(-(10**17), 10**17), st.integers(0, 18))
def test_json_ietf_decimal64_strings(d: int, p: int) -> None:
    text = str(Decimal(d).scaleb(-p))
    got = one(g.TypedValue(json_ietf_val=json.dumps(text).encode()))
    assert got.value == float(Decimal(text))


@given(finite)
def test_json_numbers(x: float) -> None:
    assert one(g.TypedValue(json_val=json.dumps(x).encode())).value == x


def test_json_object_flattened_without_module_prefixes() -> None:
    payload = json.dumps(
        {"openconfig-platform-transceiver:instant": "-3.5", "avg": -3.25, "state": {"x:min": 1}}
    ).encode()
    leaves = dict(typed_leaves(g.TypedValue(json_ietf_val=payload)))
    assert leaves[("instant",)].value == -3.5
    assert leaves[("avg",)].value == -3.25
    assert leaves[("state", "min")].counter == 1


def test_enums_and_non_numbers_are_text_not_numbers() -> None:
    assert one(g.TypedValue(string_val="UP")).text == "UP"
    assert one(g.TypedValue(string_val="UP")).value is None
    assert one(g.TypedValue(json_ietf_val=b'"N/A"')).value is None
    assert math.isinf(from_text("-inf").value or 0.0)  # normalization makes it no_light / sentinel


def test_unreadable_values_have_a_problem_not_a_value() -> None:
    assert one(g.TypedValue(json_val=b"{not json")).problem == "bad_json"
    assert one(g.TypedValue(json_val=b"null")).problem == "json_null"
    assert one(g.TypedValue(bytes_val=b"\x00")).problem == "unsupported_bytes_val"
    assert one(g.TypedValue()).problem == "no_value"
    assert one(g.TypedValue(json_val=b"[1,2]")).problem == "json_list"
    assert one(g.TypedValue(json_val=b"[" * 100000 + b"]" * 100000)).problem in ("bad_json", "json_list")
    assert decimal64(1, 2**32 - 1).problem == "out_of_range"


@given(st.binary(max_size=300))
def test_no_bytes_make_the_decoder_raise(b: bytes) -> None:
    """Any SubscribeResponse bytes: either protobuf refuses them (its DecodeError) or every value
    decodes to a Scalar; nothing else escapes."""
    from google.protobuf.message import DecodeError

    try:
        tv = g.TypedValue.FromString(b)
    except DecodeError:
        return
    for _, s in typed_leaves(tv):
        assert s.problem is not None or s.value is not None or s.text is not None


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
        max_leaves=20,
    )
)
def test_any_json_document_decodes_without_raising(doc: object) -> None:
    for _, s in json_leaves(json.dumps(doc).encode()):
        assert s.problem is not None or s.value is not None or s.text is not None


def test_float32_is_widened_exactly() -> None:
    x = struct.unpack("f", struct.pack("f", -2.31))[0]
    assert one(g.TypedValue(float_val=-2.31)).value == x
