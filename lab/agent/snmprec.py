"""The .snmprec text format (snmpsim's `OID|TAG|VALUE`, sorted by OID) for a MibView, both ways."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lab.agent.mibview import MibView
from lab.agent.values import (
    Counter32,
    Counter64,
    Gauge32,
    Integer,
    IpAddress,
    ObjectIdentifier,
    OctetString,
    SnmpValue,
    TimeTicks,
    format_oid,
    parse_oid,
)

_PRINTABLE = frozenset(range(0x20, 0x7F))


def snmprec_line(oid: tuple[int, ...], value: SnmpValue) -> str:
    """One `OID|TAG|VALUE` line; strings that are not printable ASCII use the hex tag `4x`."""
    if isinstance(value, OctetString):
        if all(b in _PRINTABLE for b in value.value):
            return f"{format_oid(oid)}|4|{value.value.decode('ascii')}"
        return f"{format_oid(oid)}|4x|{value.value.hex()}"
    if isinstance(value, ObjectIdentifier):
        return f"{format_oid(oid)}|6|{format_oid(value.value)}"
    if isinstance(value, IpAddress):
        return f"{format_oid(oid)}|64|{'.'.join(str(b) for b in value.value)}"
    return f"{format_oid(oid)}|{value.snmprec_tag}|{value.value}"


def write_snmprec(view: MibView, path: str | Path) -> Path:
    """Write view as a .snmprec file (sorted by OID, as snmpsim requires); return the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="ascii", newline="\n") as f:
        for oid, value in view:  # a MibView iterates in OID order
            f.write(snmprec_line(oid, value) + "\n")
    return out


_PLAIN: dict[str, Callable[[int], SnmpValue]] = {
    "2": Integer,
    "65": Counter32,
    "66": Gauge32,
    "67": TimeTicks,
    "70": Counter64,
}


def read_snmprec(path: str | Path) -> MibView:
    """Read a .snmprec file (tags 2, 4, 4x, 6, 64, 65, 66, 67, 70) into a MibView."""
    entries: list[tuple[tuple[int, ...], SnmpValue]] = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        oid_text, tag, text = line.split("|", 2)
        oid = parse_oid(oid_text)
        value: SnmpValue
        if tag in _PLAIN:
            value = _PLAIN[tag](int(text))
        elif tag == "4":
            value = OctetString(text.encode("utf-8"))
        elif tag == "4x":
            value = OctetString(bytes.fromhex(text))
        elif tag == "6":
            value = ObjectIdentifier(text)
        elif tag == "64":
            value = IpAddress(bytes(int(p) for p in text.split(".")))
        else:
            raise ValueError(f"{path}:{n}: unsupported snmprec tag {tag!r}")
        entries.append((oid, value))
    return MibView(entries)
