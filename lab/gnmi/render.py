"""A switch of the running fabric as OpenConfig leaves, in a chosen encoding.

Leaves are (path, value) with plain Python values; :func:`typed` encodes one as the server is told
to: ``double`` (double_val), ``decimal`` (decimal_val, 2 or 3 fraction digits for optics), ``float``
(float_val), ``json_ietf`` (decimal64 and uint64 as JSON strings, as RFC 7951 writes them) or ``json``;
with or without module prefixes on the first element of each module. The figures are the same
DomReadings the SNMP agents serve, so both transports read the same fabric.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import numpy as np

from lab.layouts.render import SwitchRenderer, module_thresholds
from lab.physics.sim import OPER_UP, FabricSim
from linkmargin.gnmi import gnmi_pb2 as g

Encoding = Literal["double", "decimal", "float", "json_ietf", "json"]
OPER_NAMES = {
    1: "UP",
    2: "DOWN",
    3: "TESTING",
    4: "UNKNOWN",
    5: "DORMANT",
    6: "NOT_PRESENT",
    7: "LOWER_LAYER_DOWN",
}
PFX = {
    "components": "openconfig-platform",
    "interfaces": "openconfig-interfaces",
    "system": "openconfig-system",
}
PFX_INNER = {"transceiver": "openconfig-platform-transceiver"}
Leaf = tuple[str, tuple[tuple[str, dict[str, str]], ...], float | int | str]
THR = {
    "rx": "input-power",
    "tx": "output-power",
    "bias": "laser-bias-current",
    "temp": "module-temperature",
    "volt": "supply-voltage",
}


@dataclass(frozen=True)
class Style:
    """How a server writes values and paths."""

    encoding: Encoding = "double"
    prefixes: bool = False


def component_of(port: str) -> str:
    """The lab's transceiver component name for a port."""
    return f"{port}-transceiver"


def _p(*parts: tuple[str, dict[str, str]] | str) -> tuple[tuple[str, dict[str, str]], ...]:
    return tuple((x, {}) if isinstance(x, str) else x for x in parts)


class GnmiRenderer:
    """One switch's leaves at the sim's current time."""

    def __init__(self, sim: FabricSim, dev: int) -> None:
        self.sim = sim
        self.dev = dev
        self.sw = SwitchRenderer(sim, dev)

    def leaves(self) -> list[Leaf]:
        """Every leaf: (group key, path elements, value)."""
        sim = self.sim
        st = sim.optical(sim.t)
        dom = sim.dom(st)
        out: list[Leaf] = []
        # The server stamps notifications with our wall clock, and the collector reads uptime as the
        # stamp minus boot-time; so the boot time is placed where the *simulated* uptime ends now (the
        # same sysUpTime the SNMP agent reports). A boot time in simulated time would make the uptime
        # run at wall speed while the counters run at simulated speed (rates off by the speed-up).
        boot_ns = time.time_ns() - int((sim.t - float(sim.boot_s[self.dev])) * 1e9)
        out.append(("boot", _p("system", "state", "boot-time"), boot_ns))
        for pv in self.sw.ports:
            p, name = pv.pos, pv.name
            iface = ("interface", {"name": name})
            ist = ("interfaces", iface, "state")
            out += [
                ("oper", _p(*ist, "oper-status"), OPER_NAMES.get(int(sim.oper[p]), "UNKNOWN")),
                ("admin", _p(*ist, "admin-status"), "UP" if sim.admin_up[p] else "DOWN"),
                ("counters", _p(*ist, "counters", "in-errors"), int(sim.in_errors[p]) % 2**64),
                ("counters", _p(*ist, "counters", "in-fcs-errors"), int(sim.fcs_errors[p]) % 2**64),
                ("counters", _p(*ist, "counters", "carrier-transitions"), int(sim.state_changes[p]) % 2**64),
                ("counters", _p(*ist, "counters", "in-octets"), int(sim.in_octets[p]) % 2**64),
                ("counters", _p(*ist, "counters", "out-octets"), int(sim.out_octets[p]) % 2**64),
            ]
            if not pv.optic or pv.pmd is None:
                continue
            comp = ("component", {"name": component_of(name)})
            out.append(("map", _p(*ist, "transceiver"), component_of(name)))
            x = ("components", comp, "transceiver")
            out.append(
                ("temp", _p("components", comp, "state", "temperature", "instant"), float(dom.temp_c[p]))
            )
            out.append(("xstate", _p(*x, "state", "supply-voltage", "instant"), float(dom.volt_v[p])))
            lit = sim.oper[p] == OPER_UP
            ber = float(np.mean(st.ber[p, : pv.lanes])) if lit else 0.0
            out.append(("xstate", _p(*x, "state", "pre-fec-ber", "instant"), ber))
            out.append(
                ("xstate", _p(*x, "state", "fec-corrected-blocks"), int(sim.fec_corrected[p].sum()) % 2**64)
            )
            out.append(
                (
                    "xstate",
                    _p(*x, "state", "fec-uncorrectable-blocks"),
                    int(sim.fec_uncorrectable[p].sum()) % 2**64,
                )
            )
            for ln in range(1, pv.lanes + 1):
                ch = ("channel", {"index": str(ln - 1)})  # physical channels count from 0 here
                base = (*x, "physical-channels", ch, "state")
                for leaf, raw in (("input-power", dom.rx_raw), ("output-power", dom.tx_raw)):
                    mw = float(raw[p, ln - 1]) / 1e4
                    dbm = 10 * math.log10(mw) if mw > 0 else -40.0  # the DOM floor, as devices send it
                    out.append(("channel", _p(*base, leaf, "instant"), round(dbm, 2)))
                out.append(
                    ("channel", _p(*base, "laser-bias-current", "instant"), float(dom.bias_ma[p, ln - 1]))
                )
            thr = module_thresholds(pv.pmd, float(sim.fleet.rx_lw_offset_db[pv.pos]))
            for sev, lv in (("CRITICAL", "a"), ("WARNING", "w")):
                t = (*x, "thresholds", ("threshold", {"severity": sev}), "state")
                for kind, leaf in THR.items():
                    out.append(("thr", _p(*t, f"{leaf}-upper"), round(thr[kind]["h" + lv], 2)))
                    out.append(("thr", _p(*t, f"{leaf}-lower"), round(thr[kind]["l" + lv], 2)))
        return out


def path_of(elems: tuple[tuple[str, dict[str, str]], ...], style: Style) -> g.Path:
    """The gNMI Path of a leaf, module-prefixed where the style says so."""
    out = []
    for i, (name, keys) in enumerate(elems):
        pre = PFX.get(name) if i == 0 else PFX_INNER.get(name)
        out.append(g.PathElem(name=f"{pre}:{name}" if style.prefixes and pre else name, key=keys))
    return g.Path(elem=out)


def typed(value: float | int | str, style: Style) -> g.TypedValue:
    """One value in the server's encoding (integers are uint64 counters, strings enums)."""
    enc = style.encoding
    if isinstance(value, str):
        if enc == "json_ietf":
            return g.TypedValue(json_ietf_val=json.dumps(value).encode())
        if enc == "json":
            return g.TypedValue(json_val=json.dumps(value).encode())
        return g.TypedValue(string_val=value)
    if isinstance(value, int):
        if enc == "json_ietf":
            return g.TypedValue(json_ietf_val=json.dumps(str(value)).encode())
        if enc == "json":
            return g.TypedValue(json_val=str(value).encode())
        return g.TypedValue(uint_val=value)
    if enc == "double":
        return g.TypedValue(double_val=value)
    if enc == "float":
        return g.TypedValue(float_val=value)
    if enc == "decimal":
        d = Decimal(repr(value))
        exp = int(d.as_tuple().exponent)
        prec = max(0, -exp)
        return g.TypedValue(decimal_val=g.Decimal64(digits=int(d.scaleb(prec)), precision=prec))
    text = repr(value)
    if enc == "json_ietf":
        return g.TypedValue(json_ietf_val=json.dumps(text).encode())
    return g.TypedValue(json_val=text.encode())
