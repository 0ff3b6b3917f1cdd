"""End to end on loopback: analyzer exporter -> real Prometheus (shipped rules) -> real Alertmanager
(shipped routes) -> a webhook this test holds. Three links behind one dirty trunk make one page."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
from prometheus_client import CollectorRegistry, start_http_server

from analyzer.advice import advise
from analyzer.analysis import analyze
from analyzer.exporter import AnalyzerCollector
from analyzer.spec import LinkSpec
from analyzer.state import LaneState
from linkmargin.samples import conform
from tests.services import Webhook, alertmanager, free_port, prometheus

from .helpers import T0

ROOT = Path(__file__).resolve().parents[2]


def _trunk_fleet() -> LaneState:
    """Three links through shared trunk-7; a mating of trunk-7 adds 3 dB to all of them."""
    rng = np.random.default_rng(3)
    lanes, points, frames = [], [], []
    h = np.arange(6 * 24)
    for i, link in enumerate(("A", "B", "C")):
        lanes.append(
            {
                "link": link,
                "device": f"leaf{i}",
                "port": "E1",
                "lane": 1,
                "direction": "rx",
                "far_device": "spine",
                "far_port": f"E{i}",
                "sensitivity_dbm": -7.0,
                "fec_limit_ber": 2.4e-4,
                "lane_rate_bps": 53.125e9,
                "low_warn_dbm": -6.0,
            }
        )
        points.append(
            {"link": link, "point": "trunk-7", "position": 1, "family": "MTP-24", "termination": "factory"}
        )
        rx = -5.0 - np.where(h >= 100, 3.0, 0.0) + rng.normal(0, 0.03, h.size)
        frames.append(
            pl.DataFrame(
                {
                    "hour": h,
                    "device": f"leaf{i}",
                    "port": "E1",
                    "lane": 1,
                    "metric": "rx_power_dbm",
                    "value": rx,
                }
            )
        )
    events = [{"point": "trunk-7", "ts": T0 + timedelta(hours=99.5), "kind": "mated"}]
    st = LaneState(LinkSpec.build(lanes, points, events))
    st.ingest(
        conform(
            pl.concat(frames).with_columns(
                (pl.lit(T0) + pl.duration(minutes=pl.col("hour") * 60 + 30)).alias("ts")
            )
        ).sort("ts")
    )
    return st


def test_one_dirty_trunk_is_one_page(tmp_path: Path) -> None:
    st = _trunk_fleet()
    an = analyze(st, horizons={"21d": 21.0})
    adv = advise(an, "21d", min_probability=0.0)
    assert set(adv["point"]) == {"trunk-7"}
    reg = CollectorRegistry()
    col = AnalyzerCollector()
    reg.register(col)
    col.update(an, suspects=adv, samples_seen=st.samples_seen)
    exp_port = free_port()
    server, _thread = start_http_server(exp_port, addr="127.0.0.1", registry=reg)
    hook = Webhook()
    # shipped rules with `for:` shortened (durations are covered by the promtool unit tests)
    rules = (ROOT / "configs/prometheus/rules.yml").read_text()
    for d in ("5m", "15m", "1h"):
        rules = rules.replace(f"for: {d}", "for: 0s")
    (tmp_path / "rules.yml").write_text(rules)
    # shipped routes with grouping waits shortened; the receiver URL is swapped by alertmanager()
    am_cfg = (ROOT / "configs/alertmanager.example.yml").read_text()
    am_cfg = am_cfg.replace("group_wait: 30s", "group_wait: 2s").replace(
        "group_interval: 5m", "group_interval: 2s"
    )
    (tmp_path / "am.yml").write_text(am_cfg)
    try:
        with (
            alertmanager(tmp_path / "am", tmp_path / "am.yml", webhook_url=hook.url) as am,
            prometheus(tmp_path / "prom", [f"127.0.0.1:{exp_port}"], [tmp_path / "rules.yml"], am),
        ):
            deadline = time.monotonic() + 45
            pages: list[dict[str, object]] = []
            while time.monotonic() < deadline:
                pages = [b for p, b in hook.received if p == "/fabric" and b["status"] == "firing"]
                if pages:
                    time.sleep(3)  # let any (unwanted) extra notifications arrive too
                    pages = [b for p, b in hook.received if p == "/fabric" and b["status"] == "firing"]
                    break
                time.sleep(0.5)
            assert pages, f"no page received; got {[p for p, _ in hook.received]}"
            groups = {json.dumps(b["groupLabels"], sort_keys=True) for b in pages}
            assert groups == {
                json.dumps({"alertname": "LinkMarginExhausted", "point": "trunk-7"}, sort_keys=True)
            }
            links = {a["labels"]["link"] for a in pages[-1]["alerts"]}  # type: ignore[index]
            assert links == {"A", "B", "C"}
    finally:
        server.shutdown()
        hook.close()
