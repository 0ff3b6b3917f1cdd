"""A far-end laser aging over 21 days (bias +30 %, linear) in the bounded pass: its baseline rests on
the laser's first readings kept in the :class:`~analyzer.bounded.PassState` (and its checkpoint), so
its rise is the full pass's within 0.04 and it is failing in both; from the 7-day window alone the
rise would be under a third of it and the laser not failing. Healthy lasers stay near zero."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl

from analyzer import checkpoint
from analyzer.analysis import analyze
from analyzer.bounded import FIRST_KEEP_HOURS, PassState
from analyzer.laser import AGING_RISE, bias_rise, relative_bias
from analyzer.state import LaneState
from linkmargin.samples import Metric, conform

from .fleet import T0, make_fleet

AGING_LINKS = ("L000", "L001", "L002")


def _with_bias(days: int = 21) -> tuple[object, pl.DataFrame, np.ndarray]:
    f = make_fleet(n_links=16, days=days)
    lanes = f.spec.lanes
    rng = np.random.default_rng(5)
    h = np.arange(f.n_hours, dtype=np.float64)
    ts = pl.Series([T0 + timedelta(hours=float(x) + 0.5) for x in h]).cast(pl.Datetime("us", "UTC"))
    ports = lanes.select("far_device", "far_port").unique(maintain_order=True)
    temp = 45.0 + 4.0 * np.sin(2 * np.pi * h / 24)[None, :] + rng.normal(0, 0.1, (ports.height, h.size))
    port_i = lanes.join(ports.with_row_index("pi"), on=["far_device", "far_port"])["pi"].to_numpy()
    aging = lanes["link"].is_in(AGING_LINKS).to_numpy()
    base = rng.uniform(6.0, 10.0, (lanes.height, 1))
    bias = base * (1 + 0.006 * (temp[port_i] - 45.0)) * (1 + rng.normal(0, 0.003, (lanes.height, h.size)))
    bias *= 1 + np.where(aging[:, None], 0.3 * h[None, :] / h.size, 0.0)
    n = h.size
    tx = pl.DataFrame(
        {
            "ts": pl.Series(np.tile(ts.to_numpy(), lanes.height)).cast(pl.Datetime("us", "UTC")),
            "device": np.repeat(lanes["far_device"].to_numpy(), n),
            "port": np.repeat(lanes["far_port"].to_numpy(), n),
            "lane": np.repeat(lanes["lane"].to_numpy(), n),
            "metric": "tx_bias_ma",
            "value": bias.ravel(),
        }
    )
    tp = pl.DataFrame(
        {
            "ts": pl.Series(np.tile(ts.to_numpy(), ports.height)).cast(pl.Datetime("us", "UTC")),
            "device": np.repeat(ports["far_device"].to_numpy(), n),
            "port": np.repeat(ports["far_port"].to_numpy(), n),
            "metric": "temperature_c",
            "value": temp.ravel(),
        }
    )
    frame = pl.concat([f.samples, conform(pl.concat([tx, tp], how="diagonal"))]).sort("ts")
    return f, frame, aging


def test_a_laser_aging_beyond_the_window_keeps_its_rise(tmp_path: Path) -> None:
    f, frame, aging = _with_bias()
    spec = f.spec  # type: ignore[attr-defined]
    full_state = LaneState(spec)
    full_state.ingest(frame)
    full = analyze(full_state)
    st, ps = LaneState(spec), PassState(spec.lanes.height)
    t0 = frame["ts"].min()
    an = None
    for d in range(1, 22):
        st.ingest(
            frame.filter(
                (pl.col("ts") >= t0 + timedelta(days=d - 1)) & (pl.col("ts") < t0 + timedelta(days=d))
            )
        )
        an = analyze(st, bounded=ps)
        st.bound_history(ps.window + 24)
        if d == 10:  # a restart from the checkpoint: the first readings come back with it
            checkpoint.save(st, tmp_path, bounded=ps)
            st = LaneState(spec)
            assert checkpoint.load(st, tmp_path)
            back = checkpoint.load_bounded(tmp_path)
            assert back is not None
            np.testing.assert_array_equal(back.first_bias, ps.first_bias)
            ps = back
    assert an is not None
    assert (ps.first_n == 24).all() and (ps.first_last < st.hour_range()[0]).all()  # type: ignore[index]
    rise_b, rise_f = an.lanes["far_bias_rise"].to_numpy(), full.lanes["far_bias_rise"].to_numpy()
    assert (rise_f[aging] > AGING_RISE).all() and (np.abs(rise_f[~aging]) < 0.05).all()
    assert np.abs(rise_b - rise_f).max() < 0.04, np.abs(rise_b - rise_f).max()
    assert an.lanes["laser_failing"].to_list() == full.lanes["laser_failing"].to_list()
    assert an.lanes.filter(pl.Series(aging))["laser_failing"].all()
    # the window alone (what the bounded pass read before): the aging laser's rise mostly gone
    _, bias = st.matrix(Metric.TX_BIAS_MA, far_end=True, hours=(st.hour_range()[1] - 167, st.hour_range()[1]))  # type: ignore[index]
    _, temp = st.matrix(
        Metric.TEMPERATURE_C, far_end=True, module=True, hours=(st.hour_range()[1] - 167, st.hour_range()[1])
    )  # type: ignore[index]
    window_only = bias_rise(relative_bias(bias, temp))
    assert (window_only[aging] < AGING_RISE).all() and (window_only[aging] < rise_f[aging] / 3).all()


def test_first_readings_older_than_the_full_pass_history_are_taken_again() -> None:
    n, hours = 2, np.arange(100, 130, dtype=np.int64)
    ps = PassState(n)
    bias = np.full((n, hours.size), 8.0)
    ps._keep_first(hours, bias, np.full_like(bias, 45.0), int(hours[-1]))
    assert (ps.first_n == 24).all() and (ps.first_last == 123).all()
    later = hours + FIRST_KEEP_HOURS + 30  # past the full pass's history: the laser's readings now
    ps._keep_first(later, bias * 1.3, np.full_like(bias, 45.0), int(later[-1]))
    assert (ps.first_n == 24).all() and np.allclose(ps.first_bias, 8.0 * 1.3)
    assert (ps.first_last == later[23]).all()
