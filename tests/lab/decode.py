"""An independent decoder of Rx power per (port, lane) from raw OID values, written from
the MIBs (not from lab.layouts), so tests check the layouts against them."""

from __future__ import annotations

import math
import re
import subprocess
from collections.abc import Iterable, Mapping

Values = Mapping[str, int | str]

ENT_NAME, ENT_DESCR = "1.3.6.1.2.1.47.1.1.1.1.7.", "1.3.6.1.2.1.47.1.1.1.1.2."
SENSOR = "1.3.6.1.2.1.99.1.1.1."
CISCO = "1.3.6.1.4.1.9.9.91.1.1.1.1."
JNX_LANE_RX = "1.3.6.1.4.1.2636.3.60.1.2.1.1.6."
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1."


def from_rows(rows: Iterable[tuple[tuple[int, ...], object]]) -> dict[str, int | str]:
    """Rows of (OID tuple, lab.agent value) to {dotted OID: int | str}."""
    out: dict[str, int | str] = {}
    for oid, v in rows:
        val = getattr(v, "value", v)
        if isinstance(val, bytes):
            val = val.decode("utf-8", "replace")
        elif isinstance(val, tuple):
            val = ".".join(map(str, val))
        out[".".join(map(str, oid))] = val  # type: ignore[assignment]
    return out


_LINE = re.compile(r'^\.?([\d.]+) = (?:([\w-]+): )?"?(.*?)"?$')


def walk(args: list[str]) -> dict[str, int | str]:
    """Run net-snmp (with -On) and parse its output to {dotted OID: int | str}."""
    text = subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout
    out: dict[str, int | str] = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        oid, typ, val = m.groups()
        if typ in ("INTEGER", "Counter32", "Counter64", "Gauge32"):
            out[oid] = int(val.split("(")[-1].rstrip(")")) if "(" in val else int(val)
        elif typ == "Timeticks":
            out[oid] = int(val.split("(")[1].split(")")[0]) if "(" in val else int(val)
        else:
            out[oid] = val
    return out


def rx_dbm(v: Values) -> dict[tuple[str, int], float]:
    """Rx power in dBm per (port name, lane 1-based), whatever layout the values use."""
    out: dict[tuple[str, int], float] = {}
    # ENTITY-SENSOR (SONiC / Arista): "DOM RX Power Sensor for <port>/<lane>" in name or descr
    for key, text in v.items():
        if not (key.startswith(ENT_DESCR) and isinstance(text, str)):
            continue
        idx = key[len(ENT_DESCR) :]
        m = re.fullmatch(r"DOM RX Power Sensor for (\S+)/(\d+)", text)
        if m and SENSOR + "4." + idx in v:
            prec = int(v[SENSOR + "3." + idx])
            assert int(v[SENSOR + "1." + idx]) == 6 and int(v[SENSOR + "2." + idx]) == 8  # watts, milli
            mw = int(v[SENSOR + "4." + idx]) / 10**prec
            out[(m.group(1), int(m.group(2)))] = 10 * math.log10(mw) if mw > 0 else -40.0
        m = re.fullmatch(r"(\S+) Lane (\d+) Transceiver Receive Power Sensor", text)
        if m and CISCO + "4." + idx in v:
            assert int(v[CISCO + "1." + idx]) == 14  # dBm
            out[(m.group(1), int(m.group(2)))] = int(v[CISCO + "4." + idx]) / 10 ** int(v[CISCO + "3." + idx])
    # JUNIPER-DOM-MIB lane table: index (ifIndex, 0-based lane), 0.01 dBm
    for key, val in v.items():
        if key.startswith(JNX_LANE_RX):
            if_index, lane0 = key[len(JNX_LANE_RX) :].split(".")
            out[(str(v[IF_NAME + if_index]), int(lane0) + 1)] = int(val) / 100.0
    return out
