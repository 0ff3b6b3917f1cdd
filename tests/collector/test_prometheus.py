"""The real Prometheus scrapes the collector's exporter and returns the recordings' values by PromQL;
Parquet history lands in day partitions; the example config parses."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from collector.config import load_config, targets_from
from collector.daemon import Collector
from collector.transport import SnmpCredentials, Target
from tests.services import free_port, prometheus

REPO = Path(__file__).resolve().parents[2]


async def test_prometheus_scrapes_values(snmpsim: int, tmp_path: Path) -> None:
    targets = [Target(v, "127.0.0.1", snmpsim, SnmpCredentials.v2c(v)) for v in ("arista", "juniper")]
    col = Collector(
        targets, parquet_root=tmp_path / "hist", intervals={"counters": 1, "dom": 1, "discovery": 0}
    )
    exp_port = free_port()
    col.serve_metrics(exp_port)
    with prometheus(tmp_path / "prom", [f"127.0.0.1:{exp_port}"]) as prom:
        stop = asyncio.Event()
        task = asyncio.create_task(col.run(stop))
        try:
            res: list[dict[str, Any]] = []
            end = time.monotonic() + 40
            q = 'linkmargin_rx_power_dbm{device="arista",port="Ethernet1/1",lane="1"}'
            while time.monotonic() < end:
                await asyncio.sleep(1)
                try:
                    res = await asyncio.to_thread(prom.query, q)
                except OSError:
                    continue
                if res:
                    break
            assert res, "prometheus never returned the series"
            assert float(res[0]["value"][1]) == pytest.approx(-2.99989, abs=1e-4)  # 0.5012 mW
            lanes = await asyncio.to_thread(
                prom.query, 'linkmargin_rx_power_dbm{device="juniper",port="et-0/0/0"}'
            )
            assert sorted(r["metric"]["lane"] for r in lanes) == [
                "1",
                "2",
                "4",
            ]  # lane 3 dark, module row aggregate
            absent = await asyncio.to_thread(
                prom.query,
                'linkmargin_reading_absent{device="juniper",port="et-0/0/0",metric="rx_power_dbm"}',
            )
            assert sorted((r["metric"].get("lane", ""), r["metric"]["reason"]) for r in absent) == [
                ("", "lane_aggregate"),
                ("3", "no_light"),
            ]
            ctr = await asyncio.to_thread(prom.query, 'linkmargin_pcs_bit_errors_total{device="arista"}')
            assert float(ctr[0]["value"][1]) == 123456789012.0
            up = await asyncio.to_thread(prom.query, "linkmargin_collector_last_success_timestamp_seconds")
            assert {r["metric"]["device"] for r in up} == {"arista", "juniper"}
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
    files = list((tmp_path / "hist").glob("date=*/part-*.parquet"))
    assert files and not list((tmp_path / "hist").rglob("*.tmp"))
    hist = pl.read_parquet(files)
    assert {"arista", "juniper"} <= set(hist["device"].unique().to_list())


def test_example_config_parses() -> None:
    cfg = load_config(REPO / "configs" / "collector.example.yaml", check_secrets=False)  # /run/secrets/...
    targets, profiles = targets_from(cfg)
    assert [t.name for t in targets][:3] == ["spine01", "spine02", "leaf01"]  # from the example inventory
    assert targets[0].credentials.version == "3" and profiles["leaf01"] == "auto"
