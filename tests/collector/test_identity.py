"""Transceiver identity on one info series; a module swap (new serial after re-discovery) is detected."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from prometheus_client import generate_latest

from collector.poller import DeviceState, poll_group
from collector.sinks.prometheus import PrometheusSink
from tests.collector.test_scheduler import ScriptedTransport

RECS = Path(__file__).parent / "recordings"
REC = RECS / "generic.snmprec"
# the vendor recordings and the profile each is decoded with
RECORDING_PROFILES = {
    "arista": "arista",
    "cisco": "cisco",
    "juniper": "juniper",
    "sonic": "sonic",
    "generic": "entity-sensor",
}


def load_snmprec(path: Path) -> dict[str, int | bytes | str]:
    rows: dict[str, int | bytes | str] = {}
    for line in path.read_text().splitlines():
        oid, tag, val = line.split("|", 2)
        rows[oid] = val.encode() if tag == "4" else (val if tag == "6" else int(val))
    return rows


async def test_identity_and_module_swap() -> None:
    rows = load_snmprec(REC)
    tr = ScriptedTransport(rows)
    st = DeviceState(name="gen")
    await poll_group(tr, st, "dom", "entity-sensor")
    assert st.transceivers == {"swp1": ("Acme Optics", "QSFP28-LR4", "SN-A1")}
    assert st.swaps == []
    rows["1.3.6.1.2.1.47.1.1.1.1.11.11"] = b"SN-B2"  # someone replaced the optic...
    await poll_group(tr, st, "discovery", "entity-sensor")
    assert st.swaps == [("swp1", "SN-A1", "SN-B2")]
    sink = PrometheusSink()
    f = await poll_group(tr, st, "dom", "entity-sensor")
    await sink("gen", "dom", f)
    sink.identity = lambda: [("gen", p, *ident, len(st.swaps)) for p, ident in st.transceivers.items()]
    from prometheus_client import CollectorRegistry

    reg = CollectorRegistry()
    reg.register(sink)
    text = generate_latest(reg).decode()
    labels = 'device="gen",model="QSFP28-LR4",port="swp1",serial="SN-B2",vendor="Acme Optics"'
    assert f"linkmargin_transceiver_info{{{labels}}} 1.0" in text
    assert 'linkmargin_transceiver_swaps_total{device="gen",port="swp1"} 1.0' in text
    # identity is not on value series
    assert 'linkmargin_rx_power_dbm{device="gen",lane="1",port="swp1"} -3.12' in text
    assert f.filter(pl.col("metric") == "rx_power_dbm").height == 3
