"""The bounded pass's columnar rings (:class:`analyzer.bounded.PassState`): fed only with the hours
since the last pass, their window views hold what the state's hourly matrices hold for the same hours
(Rx, temperatures, far-end Tx and bias, BER, disturbed hours), while the state itself drops the hours
handed over; they survive a checkpoint; and the DOM offsets cached by hour are the ones computed from
scratch."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from analyzer.bounded import READS, RELEASED, PassState, ber_and_disturbed
from analyzer.calibration import OffsetCache, rx_offsets
from analyzer.state import LaneState
from linkmargin.samples import Metric, conform

from .helpers import T0, one_link_spec

LANES, DAYS, WINDOW = 4, 6, 48


def _samples(seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for h in range(DAYS * 24):
        ts = T0 + timedelta(hours=h, minutes=20)
        if rng.random() < 0.05:  # an hour without any poll
            continue
        t = 40 + 3 * np.sin(2 * np.pi * h / 24)
        for ln in range(1, LANES + 1):
            rows.append(("dev-b", "p1", ln, "rx_power_dbm", -3 - 0.01 * h / 24 + rng.normal(0, 0.05), ts))
            rows.append(("dev-a", "p1", ln, "tx_power_dbm", 1 + rng.normal(0, 0.05), ts))
            rows.append(("dev-a", "p1", ln, "tx_bias_ma", 8 + 0.001 * h + rng.normal(0, 0.05), ts))
        rows.append(("dev-b", "p1", None, "temperature_c", t + rng.normal(0, 0.3), ts))
        rows.append(("dev-a", "p1", None, "temperature_c", t + 2 + rng.normal(0, 0.3), ts))
        rows.append(("dev-b", "p1", None, "pre_fec_ber", 10 ** rng.normal(-6, 0.2), ts))
        rows.append(("dev-b", "p1", None, "oper_status", 2.0 if rng.random() < 0.05 else 1.0, ts))
    frame = pl.DataFrame(rows, schema=["device", "port", "lane", "metric", "value", "ts"], orient="row")
    return conform(frame).sort("ts")


def test_the_rings_hold_the_state_matrices_of_the_window() -> None:
    spec = one_link_spec(LANES)
    samples = _samples()
    full, st = LaneState(spec), LaneState(spec)
    ps = PassState(spec.lanes.height, WINDOW)
    checked, seen_disturbed = 0, False
    for d in range(1, 4 * DAYS + 1):  # a pass every 6 hours
        part = samples.filter(
            (pl.col("ts") >= T0 + timedelta(hours=6 * (d - 1))) & (pl.col("ts") < T0 + timedelta(hours=6 * d))
        )
        full.ingest(part)
        st.ingest(part)
        win = ps.advance(st)
        assert win is not None
        keep = ps.keep_from()
        assert keep is not None
        st.release(RELEASED, keep)  # what linkmargin_cli.passes.Passes does after each pass
        span = (int(win.hours[0]), int(win.hours[-1]))
        assert win.hours.size == min(WINDOW, span[1] - int(samples["ts"].min().timestamp()) // 3600 + 1)
        _, mats = full.matrices(READS, span)
        ber, disturbed = ber_and_disturbed(mats[5:])
        for name, want in zip(("rx", "temp", "tx", "bias", "far_temp"), mats[:5], strict=True):
            np.testing.assert_allclose(getattr(win, name), want, rtol=1e-6, err_msg=name)
        np.testing.assert_allclose(win.ber, ber, rtol=1e-6)
        assert (win.disturbed == disturbed).all()
        seen_disturbed |= bool(disturbed.any())
        # the state keeps only the hours not handed over yet of the metrics the rings hold
        h = st.hourly().filter(pl.col("metric").cast(pl.String) == Metric.RX_POWER_DBM.value)
        assert h.height == 0 or int(h["hour"].min()) >= keep  # type: ignore[arg-type]
        checked += 1
    assert checked == 4 * DAYS and ps.rx.n_old.max() > 0 and seen_disturbed
    assert st.hourly().height < full.hourly().height / 3
    # a checkpoint keeps the rings: the window read back is the same
    back = PassState.from_tables(*ps.tables())
    lo, hi = int(win.hours[0]), int(win.hours[-1])
    _, got = back._window(lo, hi)
    _, want_views = ps._window(lo, hi)
    for k, v in want_views.items():
        np.testing.assert_array_equal(got[k], v, err_msg=k)


@pytest.mark.parametrize("chunk", [0, 12])
def test_cached_offsets_are_the_offsets_from_scratch(chunk: int, monkeypatch) -> None:
    """Also in chunks of whole ports (a fleet larger than ``LANE_CHUNK``), and the reflection check."""
    from analyzer import calibration, reflection, trend
    from analyzer.reflection import ber_beyond_rx

    rng = np.random.default_rng(5)
    n_ports, lanes, n_hours = 30, 4, 200
    group = np.repeat(np.arange(n_ports), lanes)
    true = rng.normal(1.5, 0.8, (n_ports * lanes, 1)) + rng.normal(0, 0.05, (n_ports * lanes, n_hours))
    dom = true + np.repeat(rng.normal(0, 0.5, n_ports), lanes)[:, None]
    from linkmargin.budget import ber_at_margin_db

    port_ber = np.add.reduceat(ber_at_margin_db(true, 2.4e-4), np.arange(0, n_ports * lanes, lanes)) / lanes
    ber = np.repeat(port_ber, lanes, axis=0) * rng.uniform(0.9, 1.1, (n_ports * lanes, n_hours))
    disturbed = rng.random(ber.shape) < 0.02
    limit = np.full(n_ports * lanes, 2.4e-4)
    hours = np.arange(1000, 1000 + n_hours)
    perm = rng.permutation(group.size)  # a port's lanes need not be next to each other
    group, dom, ber, disturbed = group[perm], dom[perm], ber[perm], disturbed[perm]
    rate = np.full(group.size, 53.125e9)
    whole_refl = ber_beyond_rx(dom, ber, limit, rate, group=group, disturbed=disturbed)
    ends = range(80, n_hours + 1, 5)  # passes 5 hours apart over a 96-hour window
    wants = {  # from scratch, every lane at once
        e: rx_offsets(
            dom[:, max(0, e - 96) : e],
            ber[:, max(0, e - 96) : e],
            limit,
            group,
            disturbed=disturbed[:, max(0, e - 96) : e],
        )
        for e in ends
    }
    if chunk:
        for mod in (calibration, reflection, trend):
            monkeypatch.setattr(mod, "LANE_CHUNK", chunk)
        refl = ber_beyond_rx(dom, ber, limit, rate, group=group, disturbed=disturbed)
        for name in ("flagged", "rise_db", "rx_change_db", "hours"):
            np.testing.assert_array_equal(getattr(refl, name), getattr(whole_refl, name), err_msg=name)
    cache, cached_any = OffsetCache(), False
    for end in ends:
        sl = slice(max(0, end - 96), end)
        want = wants[end]
        cached_any |= bool(cache.by_hour)
        cache.final_before = int(hours[end - 1]) - 1  # the newest two hours are handed over again
        got = rx_offsets(
            dom[:, sl], ber[:, sl], limit, group, disturbed=disturbed[:, sl], hours=hours[sl], cache=cache
        )
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
        assert all(h < cache.final_before for c in (cache, *cache.parts.values()) for h in c.by_hour)
        cached_any |= any(bool(c.by_hour) for c in cache.parts.values())
    assert cached_any and np.isfinite(want[0]).sum() > n_ports
    assert bool(cache.parts) == bool(chunk)


def test_estimators_in_lane_chunks_give_the_same_answers(monkeypatch) -> None:
    """A fleet larger than ``LANE_CHUNK`` is worked on in chunks of lanes (memory): same answers."""
    from analyzer import laser, steps, trend
    from analyzer.steps import detect_steps
    from analyzer.trend import fit_trends, step_design

    rng = np.random.default_rng(11)
    n, hours = 53, 96
    temp = 40 + 3 * np.sin(2 * np.pi * np.arange(hours) / 24)[None, :] + rng.normal(0, 0.5, (n, hours))
    y = -3 + 0.02 * (temp - 40) + rng.normal(0, 0.05, (n, hours))
    y[::5, 50:] -= 1.0
    y[rng.random(y.shape) < 0.05] = np.nan
    bias = 8 * (1 + 0.002 * np.arange(hours))[None, :] + rng.normal(0, 0.05, (n, hours))
    bias[:7, -30:] *= 1.3
    first = (rng.normal(8, 0.05, (n, 24)), rng.normal(40, 0.5, (n, 24)))
    design = step_design(n, hours, [(li, 50) for li in range(0, n, 5)])
    scan_from = rng.integers(0, 30, n)

    def run() -> list[np.ndarray]:
        fit = fit_trends(y, temp, steps=design)
        found = detect_steps(y, temp, scan_from=scan_from).sort("li", "hour_idx")
        return [
            fit.drift_db_per_day,
            fit.step_sizes,
            fit.resid_sigma_db,
            laser.relative_bias(bias, temp, first=first),
            *laser.early_rise(bias[:, :30], temp[:, :30]),
            found.to_numpy(),
        ]

    whole = run()
    for mod in (trend, laser, steps):
        monkeypatch.setattr(mod, "LANE_CHUNK", 8)
    chunked = run()
    assert whole[-1].shape[0] >= 8
    for a, b in zip(whole, chunked, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_passes_release_the_ring_metrics_unless_told_not_to() -> None:
    from linkmargin_cli.passes import Passes

    spec = one_link_spec(LANES)
    samples = _samples()
    rx_hours = {}
    for release in (True, False):
        st, passes = LaneState(spec), Passes(spec, release=release)
        for d in range(1, DAYS + 1):
            st.ingest(
                samples.filter(pl.col("ts") < T0 + timedelta(days=d)).filter(
                    pl.col("ts") >= T0 + timedelta(days=d - 1)
                )
            )
            passes.run(st, horizons={"21d": 21.0}, planned=None, now=None)
        h = st.hourly().filter(pl.col("metric").cast(pl.String) == Metric.RX_POWER_DBM.value)
        rx_hours[release] = h["hour"].n_unique()
        # the counters and states stay as long as before: the evidence and the resets read them
        assert (
            st.hourly()
            .filter(pl.col("metric").cast(pl.String) == Metric.OPER_STATUS.value)["hour"]
            .n_unique()
            > 100
        )
    assert rx_hours[True] <= 3 and rx_hours[False] > 100
