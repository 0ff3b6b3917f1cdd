"""DOM polls walk only value and status (type, scale, precision cached from discovery), decode to the
same samples as walking every column, and a sensor row discovery never saw triggers re-discovery
instead of a guessed scale."""

from __future__ import annotations

import polars as pl
import pytest

from collector.poller import DeviceState, poll_group
from collector.transport import VarBinds
from tests.collector.test_identity import RECORDING_PROFILES, RECS, load_snmprec
from tests.collector.test_scheduler import ScriptedTransport

VENDORS = RECORDING_PROFILES
SENSOR = "1.3.6.1.2.1.99.1.1.1"


class Counting(ScriptedTransport):
    """Remembers the roots it was asked to walk."""

    def __init__(self, rows: dict[str, int | bytes | str]) -> None:
        super().__init__(rows)
        self.walked: list[str] = []

    async def bulk_walk(self, root: str, max_repetitions: int | None = None) -> VarBinds:
        self.walked.append(root)
        return await super().bulk_walk(root, max_repetitions)


async def batches(rec: str, profile: str, walk_metadata: bool) -> pl.DataFrame:
    tr = ScriptedTransport(load_snmprec(RECS / f"{rec}.snmprec"))
    st = DeviceState(name=rec, walk_metadata=walk_metadata)
    out = [await poll_group(tr, st, g, profile) for g in ("counters", "dom", "counters", "dom")]
    return pl.concat(out).drop("ts").sort("port", "lane", "metric", "value", nulls_last=True)


@pytest.mark.parametrize("rec", list(VENDORS))
async def test_cached_metadata_decodes_like_walking_every_column(rec: str) -> None:
    cached = await batches(rec, VENDORS[rec], walk_metadata=False)
    walked = await batches(rec, VENDORS[rec], walk_metadata=True)
    assert cached.height > 10
    assert cached.equals(walked)


async def test_dom_poll_walks_value_and_status_only() -> None:
    tr = Counting(load_snmprec(RECS / "arista.snmprec"))
    st = DeviceState(name="arista")
    await poll_group(tr, st, "discovery", "arista")
    tr.walked.clear()
    await poll_group(tr, st, "dom", "arista")
    sensor = [r for r in tr.walked if r.startswith(SENSOR + ".")]
    assert sensor == [f"{SENSOR}.4", f"{SENSOR}.5"]
    tr.walked.clear()
    await poll_group(tr, DeviceState(name="a2", walk_metadata=True), "dom", "arista")
    assert {f"{SENSOR}.{c}" for c in (1, 2, 3, 4, 5)} <= set(tr.walked)


async def test_unknown_sensor_row_triggers_discovery() -> None:
    rows = load_snmprec(RECS / "arista.snmprec")
    lane4 = {k: v for k, v in rows.items() if k.endswith(".100301243")}  # Ethernet1/1 lane 4 RX power
    assert len(lane4) >= 5
    for k in lane4:
        del rows[k]
    tr = Counting(rows)
    st = DeviceState(name="arista")
    f = await poll_group(tr, st, "dom", "arista")
    key = (pl.col("port") == "Ethernet1/1") & (pl.col("lane") == 4) & (pl.col("metric") == "rx_power_dbm")
    assert f.filter(key).height == 0
    rows.update(lane4)  # the sensor appears (a module plugged in) between discoveries
    tr.walked.clear()
    f = await poll_group(tr, st, "dom", "arista")
    assert any(r.startswith("1.3.6.1.2.1.47.1.1.1.1.") for r in tr.walked)  # re-discovered
    got = f.filter(key)
    assert got.height == 1 and got["value"][0] == pytest.approx(0.0)  # 10000 x 10^-4 mW = 0 dBm
    tr.walked.clear()
    await poll_group(tr, st, "dom", "arista")
    assert not any(r.startswith("1.3.6.1.2.1.47.1.1.1.1.") for r in tr.walked)  # known now
