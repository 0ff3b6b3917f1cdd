"""The demo's live table at 80 columns and wide: every finding whole (its point or optic, the reboot),
never cut to "…"; and the counter reset on the analyzer's /metrics."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from types import SimpleNamespace

import polars as pl
import pytest
from rich.console import Console

from analyzer.analysis import analyze
from analyzer.evidence import counter_resets
from analyzer.exporter import AnalyzerCollector
from analyzer.state import LaneState
from linkmargin_cli.views import live_view

from . import scenario
from .helpers import T0


@pytest.fixture(scope="module")
def analysis():
    spec, frame = scenario.build()
    st = LaneState(spec)
    st.ingest(frame)
    an = analyze(st, horizons={"21d": 21.0, "7d": 7.0})
    resets = pl.DataFrame(
        {
            "device": ["spine2"],
            "ts": [T0 + timedelta(hours=5, minutes=3)],
            "at": [T0 + timedelta(hours=5)],
            "counters": [12],
            "ports": [3],
            "rebooted": [True],
        },
        schema=st.resets.schema,
    )
    an.devices = counter_resets(resets, st.hourly())
    return an


def _pipeline(an):  # what the view reads of a running pipeline
    return SimpleNamespace(
        clock=lambda: T0,
        scheduler=SimpleNamespace(devices=["spine1", "spine2"]),
        streams=[],
        state=SimpleNamespace(samples_seen=123_456),
        events=2,
        last_event="critical: L-optic: ok -> critical, P(cross before 21d) = 0.97; replace the optic",
        analysis=an,
    )


@pytest.mark.parametrize("width", [80, 100, 160])
def test_every_finding_is_whole_at_80_columns_and_wide(analysis, width: int) -> None:
    con = Console(width=width, record=True, file=io.StringIO())
    con.print(live_view(_pipeline(analysis), "http://127.0.0.1:9108/metrics", time.monotonic()))
    text = con.export_text()
    assert "…" not in text and max(map(len, text.splitlines())) <= width
    flat = " ".join(text.split())
    assert "http://127.0.0.1:9108/metrics" in flat
    for link in ("L-optic", "L-dirty", "L-ok"):
        assert f" {link} " in text  # whole link ids in the table
    # the step at its point, the failing laser as its optic, the reboot as a counter reset
    assert "step_at_point at L-dirty-mmc" in flat and "clean and inspect L-dirty-mmc" in flat
    assert "optic_tx_failing at optic spine2 Ethernet9" in flat
    assert "spine2 rebooted at 2026-01-01 05:00Z: 12 counters on 3 ports reset, rates not spiked" in flat
    assert ("[90% PI]" in text) is (width >= 120)


def test_the_counter_reset_is_on_the_analyzers_metrics(analysis) -> None:
    col = AnalyzerCollector()
    col.update(analysis)
    text = col.render_text().decode()
    at = (T0 + timedelta(hours=5)).timestamp()
    line = next(
        x for x in text.splitlines() if x.startswith("linkmargin_device_counter_reset_timestamp_seconds{")
    )
    assert 'device="spine2"' in line and 'rebooted="true"' in line and 'spiked="false"' in line
    assert float(line.rsplit(" ", 1)[1]) == pytest.approx(at)
