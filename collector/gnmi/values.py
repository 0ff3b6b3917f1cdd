"""gNMI values to numbers: every TypedValue encoding kept (docs/ARCHITECTURE.md "gNMI").

``double_val``, ``decimal_val`` (digits x 10^-precision), ``float_val``, ``int_val``, ``uint_val``,
``bool_val``, ``string_val``/``ascii_val`` (numbers sent as strings: SONiC counters, decimal64 in
JSON_IETF), ``json_val`` and ``json_ietf_val`` (a scalar, or an object flattened to its leaves, module
prefixes dropped from member names). Nothing here raises: a value that cannot be read comes back with
a ``problem`` (the reject reason counted on /metrics). Whether a number is a reading (sentinels, no
light, non-finite) is normalization's business, as on the SNMP path.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from linkmargin.gnmi import gnmi_pb2

MAX_JSON_DEPTH = 16
MAX_JSON_LEAVES = 4096
U64 = 2**64
_INT = re.compile(r"^[+-]?[0-9]+$")


class Scalar(NamedTuple):
    """One decoded leaf value."""

    value: float | None  # the number, as a float (may be non-finite: normalization decides)
    counter: int | None  # the exact value when it is an integer in [0, 2**64)
    text: str | None  # a string that is not a number (an enum such as "UP"), else None
    problem: str | None  # why there is nothing usable (a reject reason), else None


Leaf = tuple[tuple[str, ...], Scalar]  # (path elements below the update's path, value)


def _bad(problem: str) -> Scalar:
    return Scalar(None, None, None, problem)


def number(x: int | float) -> Scalar:
    """An int (exact counter when it fits 64 unsigned bits) or a float."""
    if isinstance(x, bool):
        return Scalar(1.0 if x else 0.0, None, None, None)
    if isinstance(x, int):
        try:
            v = float(x)
        except OverflowError:
            return _bad("out_of_range")
        return Scalar(v, x if 0 <= x < U64 else None, None, None)
    return Scalar(float(x), None, None, None)


def from_text(s: str) -> Scalar:
    """A string leaf: an integer (exact), a decimal (decimal64 as JSON_IETF writes it), or text."""
    t = s.strip()
    if _INT.match(t):
        return number(int(t))
    try:
        return Scalar(float(t), None, None, None)  # includes "inf", "-inf", "nan": normalization decides
    except ValueError:
        return Scalar(None, None, s, None)


def decimal64(digits: int, precision: int) -> Scalar:
    """gNMI Decimal64: digits x 10^-precision, correctly rounded to the nearest float."""
    try:
        v = float(Decimal(digits).scaleb(-precision))
    except (InvalidOperation, OverflowError, ValueError):
        return _bad("out_of_range")
    if precision == 0 and 0 <= digits < U64:
        return Scalar(v, digits, None, None)
    return Scalar(v, None, None, None)


def _json_leaves(node: Any, at: tuple[str, ...], out: list[Leaf], depth: int) -> None:
    if len(out) > MAX_JSON_LEAVES:
        return
    if isinstance(node, dict):
        if depth >= MAX_JSON_DEPTH:
            out.append((at, _bad("json_too_deep")))
            return
        for k, v in node.items():
            _json_leaves(v, (*at, str(k).rsplit(":", 1)[-1]), out, depth + 1)
    elif isinstance(node, list):
        out.append((at, _bad("json_list")))  # keyed lists need the schema's keys: subscribe to leaves
    elif isinstance(node, str):
        out.append((at, from_text(node)))
    elif isinstance(node, bool | int | float):
        out.append((at, number(node)))
    else:  # null
        out.append((at, _bad("json_null")))


def json_leaves(payload: bytes) -> list[Leaf]:
    """JSON / JSON_IETF bytes as leaves: a scalar is one leaf at ``()``, an object one per member."""
    try:
        doc = json.loads(payload)
    except (ValueError, RecursionError):
        return [((), _bad("bad_json"))]
    out: list[Leaf] = []
    _json_leaves(doc, (), out, 0)
    if len(out) > MAX_JSON_LEAVES:
        return [((), _bad("json_too_large"))]
    return out


def typed_leaves(tv: gnmi_pb2.TypedValue) -> list[Leaf]:
    """Every leaf one TypedValue holds (one, except a JSON object). Never raises."""
    kind = tv.WhichOneof("value")
    if kind == "double_val":
        return [((), Scalar(tv.double_val, None, None, None))]
    if kind == "float_val":
        return [((), Scalar(float(tv.float_val), None, None, None))]
    if kind == "decimal_val":
        return [((), decimal64(tv.decimal_val.digits, tv.decimal_val.precision))]
    if kind == "int_val":
        return [((), number(tv.int_val))]
    if kind == "uint_val":
        return [((), number(tv.uint_val))]
    if kind == "bool_val":
        return [((), number(tv.bool_val))]
    if kind == "string_val":
        return [((), from_text(tv.string_val))]
    if kind == "ascii_val":
        return [((), from_text(tv.ascii_val))]
    if kind == "json_val":
        return json_leaves(tv.json_val)
    if kind == "json_ietf_val":
        return json_leaves(tv.json_ietf_val)
    if kind is None:
        return [((), _bad("no_value"))]
    return [((), _bad(f"unsupported_{kind}"))]


def is_finite(s: Scalar) -> bool:
    """Whether a decoded leaf holds a finite number."""
    return s.value is not None and math.isfinite(s.value)
