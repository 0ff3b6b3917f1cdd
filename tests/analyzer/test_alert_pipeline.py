"""End to end on loopback: analyzer exporter -> real Prometheus (shipped rules) -> real Alertmanager
(shipped routes) -> a webhook this test holds. Three links behind one dirty trunk make one page."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import numpy as np
import polars as pl
from prometheus_client import CollectorRegistry, start_http_server

from analyzer.advice import advise
from analyzer.analysis import analyze
from analyzer.exporter import AnalyzerCollector
from analyzer.spec import LinkSpec
from analyzer.state import LaneState
from linkmargin.samples import conform

from .helpers import T0

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict[str, object]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append((self.path, json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_one_dirty_trunk_is_one_page(tmp_path: Path) -> None:
    st = _trunk_fleet()
    an = analyze(st, horizons={"21d": 21.0})
    adv = advise(an, "21d", min_probability=0.0)
    assert set(adv["point"]) == {"trunk-7"}
    reg = CollectorRegistry()
    col = AnalyzerCollector()
    reg.register(col)
    col.update(an, suspects=adv, samples_seen=st.samples_seen)
    exp_port, prom_port, am_port, hook_port = (_free_port() for _ in range(4))
    server, _thread = start_http_server(exp_port, addr="127.0.0.1", registry=reg)
    hook = HTTPServer(("127.0.0.1", hook_port), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    _Hook.received = []
    # shipped rules with `for:` shortened (durations are covered by the promtool unit tests)
    rules = (ROOT / "configs/prometheus/rules.yml").read_text()
    for d in ("5m", "15m", "1h"):
        rules = rules.replace(f"for: {d}", "for: 0s")
    (tmp_path / "rules.yml").write_text(rules)
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "rule_files: [rules.yml]\n"
        f"alerting: {{alertmanagers: [{{static_configs: [{{targets: ['127.0.0.1:{am_port}']}}]}}]}}\n"
        "scrape_configs: [{job_name: linkmargin, "
        f"static_configs: [{{targets: ['127.0.0.1:{exp_port}']}}]}}]\n"
    )
    am = (ROOT / "configs/alertmanager.example.yml").read_text()
    am = am.replace("http://127.0.0.1:9095", f"http://127.0.0.1:{hook_port}")
    am = am.replace("group_wait: 30s", "group_wait: 2s").replace("group_interval: 5m", "group_interval: 2s")
    (tmp_path / "am.yml").write_text(am)
    procs = [
        subprocess.Popen(
            [
                ALERTMANAGER,
                f"--config.file={tmp_path / 'am.yml'}",
                f"--storage.path={tmp_path / 'am'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'prom'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    ]
    try:
        deadline = time.monotonic() + 45
        pages: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            pages = [b for p, b in _Hook.received if p == "/fabric" and b["status"] == "firing"]
            if pages:
                time.sleep(3)  # let any (unwanted) extra notifications arrive too
                pages = [b for p, b in _Hook.received if p == "/fabric" and b["status"] == "firing"]
                break
            time.sleep(0.5)
        assert pages, f"no page received; got {[p for p, _ in _Hook.received]}"
        groups = {json.dumps(b["groupLabels"], sort_keys=True) for b in pages}
        assert groups == {
            json.dumps({"alertname": "LinkMarginExhausted", "point": "trunk-7"}, sort_keys=True)
        }
        links = {a["labels"]["link"] for a in pages[-1]["alerts"]}  # type: ignore[index]
        assert links == {"A", "B", "C"}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)
        server.shutdown()
        hook.shutdown()
