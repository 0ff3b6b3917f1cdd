"""A miniature backtest on a synthetic fleet whose crossing times are known in closed form.

Rolling forecasts (issued as history grows) are scored against the truth next to the
static-module-threshold baseline, with the same rules as the real backtest.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from analyzer.analysis import analyze
from analyzer.backtest import score_with_baseline
from analyzer.spec import LinkSpec
from analyzer.state import LaneState
from linkmargin.samples import conform

from .helpers import T0

SENS = -8.0
LOW_WARN = -7.0  # the module warns 1 dB above sensitivity


def _fleet(n_links: int = 40, days: int = 14, seed: int = 5):
    rng = np.random.default_rng(seed)
    h = np.arange(days * 24)
    lanes, frames, truth = [], [], []
    for i in range(n_links):
        link = f"L{i:02d}"
        degrading = i % 3 == 0
        if degrading:
            tc = rng.uniform(10, 40)  # days until zero margin
            d = -rng.uniform(0.08, 0.2)
            m0 = -d * tc
        else:
            d, m0, tc = rng.normal(-0.001, 0.001), rng.uniform(1.5, 4.0), None
        temp = 40 + 4 * np.sin(2 * np.pi * (h + rng.uniform(0, 24)) / 24)
        lanes.append(
            {
                "link": link,
                "device": f"leaf{i}",
                "port": "E1",
                "lane": 1,
                "direction": "rx",
                "far_device": f"spine{i}",
                "far_port": "E1",
                "sensitivity_dbm": SENS,
                "fec_limit_ber": 2.4e-4,
                "lane_rate_bps": 53.125e9,
                "low_warn_dbm": LOW_WARN,
            }
        )
        rx = SENS + m0 + d * h / 24 - 0.02 * (temp - 40) + rng.normal(0, 0.05, h.size)
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
        frames.append(
            pl.DataFrame(
                {"hour": h, "device": f"leaf{i}", "port": "E1", "metric": "temperature_c", "value": temp}
            )
        )
        truth.append({"link": link, "crossed_at": None if tc is None else T0 + timedelta(days=tc)})
    spec = LinkSpec.build(lanes)
    frame = conform(
        pl.concat(frames, how="diagonal").with_columns(
            (pl.lit(T0) + pl.duration(minutes=pl.col("hour") * 60 + 30)).alias("ts")
        )
    ).sort("ts")
    return (
        spec,
        frame,
        pl.DataFrame(truth, schema={"link": pl.String, "crossed_at": pl.Datetime("us", "UTC")}),
    )


def test_rolling_forecasts_beat_static_thresholds() -> None:
    spec, frame, truth = _fleet()
    st = LaneState(spec)
    fcs, snaps = [], []
    fed = T0
    for day in (4, 6, 8, 10, 12, 14):
        issued = T0 + timedelta(days=day)
        st.ingest(frame.filter((pl.col("ts") >= fed) & (pl.col("ts") < issued)))
        fed = issued
        an = analyze(st, horizons={"21d": 21.0})
        fcs.append(
            an.forecasts["21d"].select(
                "link", pl.lit(issued).alias("issued_at"), pl.col("p_cross").alias("p")
            )
        )
        snaps.append(an.links.select("link", pl.lit(issued).alias("issued_at"), "warn_margin_db"))
    s = score_with_baseline(pl.concat(fcs), pl.concat(snaps), truth, horizon=timedelta(days=21))
    print(s)
    assert s["positives"] >= 5
    assert s["recall"] >= 0.95, s
    assert s["precision"] >= 0.9, s
    assert s["median_lead_hours"] >= 48
    b = s["baseline"]
    assert (b["recall"] or 0.0) < s["recall"]
    assert s["brier"] < (b["brier"] or 1.0)
