"""Analyzer benchmarks: samples/s per core through the state update, forecast refresh time, and the
full analysis pass over hourly history.

Run: ``POLARS_MAX_THREADS=1 .venv/bin/python bench/analyzer_bench.py`` (one core for the per-core
figure); ``--pass-ports 500 --pass-days 7 21`` times the full pass (steps, trends, cohorts,
calibration, forecasts) on 500 ports x 8 lanes with 7 and with 21 days of hourly history (one poll
per hour), ``--skip-ingest --skip-forecast`` for the pass alone. Writes nothing;
bench/results/analyzer.md records the numbers of a run.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from analyzer.analysis import link_forecasts
from analyzer.forecast import StepRisk, forecast_lanes
from analyzer.spec import LinkSpec
from analyzer.state import LaneState
from linkmargin.samples import SAMPLE_SCHEMA

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def fleet(n_ports: int, lanes: int = 8) -> LinkSpec:
    """n_ports receiving ports of ``lanes`` lanes each, one link per port."""
    port = np.repeat(np.arange(n_ports), lanes)
    frame = pl.DataFrame(
        {
            "link": [f"L{p}" for p in port],
            "device": [f"leaf{p // 64}" for p in port],
            "port": [f"Ethernet{p % 64}" for p in port],
            "lane": np.tile(np.arange(1, lanes + 1), n_ports),
            "direction": "rx",
            "far_device": [f"spine{p // 64}" for p in port],
            "far_port": [f"Ethernet{p % 64}" for p in port],
            "sensitivity_dbm": -8.0,
            "fec_limit_ber": 2.4e-4,
            "lane_rate_bps": 53.125e9,
        }
    )
    return LinkSpec.build(frame)


def poll_batch(spec: LinkSpec, t: datetime, rng: np.random.Generator, counter0: int) -> pl.DataFrame:
    """One poll of every lane: Rx, Tx, bias per lane; temperature and FEC counter per port."""
    lanes = spec.lanes
    n = lanes.height
    per_lane = []
    for metric in ("rx_power_dbm", "tx_power_dbm", "tx_bias_ma"):
        per_lane.append(
            lanes.select("device", "port", "lane").with_columns(
                pl.lit(metric).alias("metric"), pl.Series("value", rng.normal(-3, 0.1, n))
            )
        )
    ports = lanes.select("device", "port").unique(maintain_order=True)
    m = ports.height
    temp = ports.with_columns(
        pl.lit("temperature_c").alias("metric"), pl.Series("value", rng.normal(40, 1, m))
    )
    ctr = ports.with_columns(
        pl.lit("fec_corrected_cw").alias("metric"),
        pl.Series("counter", np.full(m, counter0, dtype=np.uint64)),
        pl.lit(64).alias("counter_bits"),
        pl.lit(int((t - T0).total_seconds() * 100) + 1000).alias("uptime_cs"),
    )
    frame = pl.concat([*per_lane, temp, ctr], how="diagonal").with_columns(pl.lit(t).alias("ts"))
    exprs = [
        pl.col(c).cast(d) if c in frame.columns else pl.lit(None, dtype=d).alias(c)
        for c, d in SAMPLE_SCHEMA.items()
    ]
    return frame.select(exprs)


def bench_ingest(n_ports: int, polls: int) -> tuple[float, float]:
    """Samples per second of wall time and per second of CPU time (the figure on a loaded machine)."""
    spec = fleet(n_ports)
    st = LaneState(spec)
    rng = np.random.default_rng(0)
    batches = [poll_batch(spec, T0 + timedelta(minutes=10 * i), rng, 1000 + 5000 * i) for i in range(polls)]
    st.ingest(batches[0])  # warm-up (first counter values, allocation)
    total = sum(b.height for b in batches[1:])
    t, c = time.perf_counter(), time.process_time()
    for b in batches[1:]:
        st.ingest(b)
    st.latest  # noqa: B018  (forces the deferred merge into the kept state: part of the cost)
    dt, dc = time.perf_counter() - t, time.process_time() - c
    return total / dt, total / dc


def bench_forecast(n_lanes: int, lanes_per_link: int = 8) -> tuple[float, float]:
    rng = np.random.default_rng(1)
    m0 = rng.normal(3, 1, n_lanes)
    d = rng.normal(-0.01, 0.01, n_lanes)
    sd = np.abs(rng.normal(0.002, 0.001, n_lanes))
    sig = np.abs(rng.normal(0.05, 0.01, n_lanes))
    # every lane carries step risk, so the mixture over step counts is always evaluated
    steps = StepRisk(
        planned_n=rng.integers(0, 3, n_lanes).astype(np.float64),
        planned_p=rng.uniform(0, 0.2, n_lanes),
        planned_db=rng.uniform(0.5, 2.0, n_lanes),
        planned_sd_db=rng.uniform(0.1, 0.5, n_lanes),
        background_n=rng.uniform(0, 0.1, n_lanes),
        background_db=rng.uniform(0.5, 2.0, n_lanes),
        background_sd_db=rng.uniform(0.2, 1.0, n_lanes),
    )
    ids = pl.DataFrame(
        {
            "li": np.arange(n_lanes),
            "link": np.repeat(np.arange(n_lanes // lanes_per_link), lanes_per_link).astype(str),
            "device": "d",
            "port": "p",
            "lane": np.tile(np.arange(1, lanes_per_link + 1), n_lanes // lanes_per_link),
            "direction": "rx",
        }
    )
    t = time.perf_counter()
    fc = forecast_lanes(21.0, m0, d, sd, sig, thermal_sd_db=sig, steps=steps)
    t_np = time.perf_counter() - t
    lf = ids.with_columns(
        pl.Series("forecast_db", fc.mean_db),
        pl.Series("forecast_lo_db", fc.lo_db),
        pl.Series("forecast_hi_db", fc.hi_db),
        pl.Series("p_cross", fc.p_cross),
        pl.Series("days_to_cross", fc.days_to_cross),
    )
    link_forecasts(lf)
    return t_np, time.perf_counter() - t


def history_state(n_ports: int, days: int, seed: int = 2) -> LaneState:
    """A state holding ``days`` of hourly polls of ``n_ports`` x 8 lanes (the newest hour closed)."""
    spec = fleet(n_ports)
    st = LaneState(spec, history_hours=24 * max(days + 2, 60))
    rng = np.random.default_rng(seed)
    polls = [poll_batch(spec, T0 + timedelta(hours=i), rng, 1000 + 5000 * i) for i in range(24 * days + 2)]
    st.ingest_many(polls)
    st.latest  # noqa: B018  (the deferred merge: not part of the pass)
    return st


PASS_WINDOW = 168


def bench_pass(n_ports: int, days: int, repeat: int = 2, bounded: bool = False) -> list[tuple[float, float]]:
    """(wall, CPU) seconds per full analysis pass (one 21-day horizon) over ``days`` of hourly history;
    ``bounded``: with :class:`analyzer.bounded.PassState` (7-day window) and a state that keeps only
    the window, built as a running analyzer builds it (a pass after every day, not timed)."""
    from analyzer.analysis import analyze
    from analyzer.bounded import PassState

    if not bounded:
        st = history_state(n_ports, days)
        ps = None
    else:
        # a running analyzer: the state keeps the window (and a day), a pass after every day (untimed)
        spec = fleet(n_ports)
        st = LaneState(spec, history_hours=PASS_WINDOW + 24)
        ps = PassState(spec.lanes.height, PASS_WINDOW)
        rng = np.random.default_rng(2)
        for d in range(days):
            hrs = range(24 * d, 24 * (d + 1) + (2 if d == days - 1 else 0))
            st.ingest_many([poll_batch(spec, T0 + timedelta(hours=i), rng, 1000 + 5000 * i) for i in hrs])
            analyze(st, horizons={"21d": 21.0}, bounded=ps)
    out = []
    for _ in range(repeat):
        st._hourly_cache = st._by_metric = None  # as after new hours arrive: the pass rebuilds what it reads
        t, c = time.perf_counter(), time.process_time()
        analyze(st, horizons={"21d": 21.0}, bounded=ps)
        out.append((time.perf_counter() - t, time.process_time() - c))
    return out


def bench_bounded(n_lanes: int, days: int, window: int = 168, seed: int = 4) -> dict[str, float]:
    """The bounded Rx trend fit (:class:`analyzer.trend.BoundedTrend`, a ring of ``window`` hours) over
    ``days`` of hourly readings of ``n_lanes`` lanes, handed over a ring at a time, 1 % of lanes with a
    step: seconds (wall and CPU) of the pass's fit at the end, of the pushes, and peak RSS (MB)."""
    import resource

    from analyzer.trend import BoundedTrend

    rng = np.random.default_rng(seed)
    drift = rng.normal(-0.01, 0.01, n_lanes)
    step_lanes = np.nonzero(rng.random(n_lanes) < 0.01)[0]
    step_hours = rng.integers(0, 24 * days, step_lanes.size)
    bt = BoundedTrend(n_lanes, window)
    push_wall = push_cpu = 0.0
    for s in range(0, 24 * days, window):
        h = np.arange(s, min(s + window, 24 * days))
        temp = (40 + 3 * np.sin(2 * np.pi * h / 24))[None, :] + rng.normal(0, 0.5, (n_lanes, h.size))
        y = -3 + drift[:, None] * h / 24 + 0.02 * (temp - 40) + rng.normal(0, 0.05, (n_lanes, h.size))
        y[:, rng.random(h.size) < 0.02] = np.nan
        t, c = time.perf_counter(), time.process_time()
        bt.push(h, y.astype(np.float32), temp.astype(np.float32))
        due = (step_hours >= s) & (step_hours < s + h.size)
        bt.add_steps(step_lanes[due], step_hours[due])
        push_wall, push_cpu = push_wall + time.perf_counter() - t, push_cpu + time.process_time() - c
        del y, temp
    t, c = time.perf_counter(), time.process_time()
    fit = bt.fit()
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    assert np.isfinite(fit.drift_db_per_day).mean() > 0.99
    return {
        "fit_wall": wall,
        "fit_cpu": cpu,
        "push_wall": push_wall,
        "push_cpu": push_cpu,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "drift_err": float(np.nanmedian(np.abs(fit.drift_db_per_day - drift))),
    }


def _rss_mb() -> float:
    """The process's resident set now (MB)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _fold_days(ps: object, n_ports: int, h_from: int, h_to: int, rng: np.random.Generator) -> None:
    """Hand hours ``h_from``..``h_to`` (epoch hours) of synthetic hourly aggregates straight to the pass
    state, a day at a time, with a step detection every three days (what the passes of a running
    analyzer would have handed over; untimed): drifting Rx with a thermal swing and 1 % of lanes with a
    1 dB step, module temperatures, far-end Tx and bias, a port BER; no counter disturbances."""
    from analyzer.bounded import READS, PassState

    assert isinstance(ps, PassState)
    n = n_ports * 8
    ber_limit = np.full(n, 2.4e-4)  # the fleet's lanes (:func:`fleet`): KP4
    drift = np.random.default_rng(7).normal(-0.01, 0.01, n)
    step_lanes = np.nonzero(np.random.default_rng(8).random(n) < 0.01)[0]
    for d0 in range(h_from, h_to + 1, 24):
        hrs = np.arange(d0, min(d0 + 24, h_to + 1), dtype=np.int64)
        swing = 3 * np.sin(2 * np.pi * hrs / 24)[None, :]
        t_port = 40 + swing + rng.normal(0, 0.5, (n_ports, hrs.size))
        temp = np.repeat(t_port, 8, axis=0)
        rx = -3 + drift[:, None] * (hrs - h_from)[None, :] / 24 + 0.02 * (temp - 40)
        rx += rng.normal(0, 0.05, rx.shape)
        at = h_from + (step_lanes * 7919) % max(h_to - h_from, 1)  # each step lane's step hour
        rx[step_lanes] -= (hrs[None, :] >= at[:, None]) * 1.0
        nan = np.full(rx.shape, np.nan)
        mats = [
            rx,
            temp,
            rng.normal(1.0, 0.05, rx.shape),
            rng.normal(8.0, 0.05, rx.shape),
            temp + 1.0,
            nan,
            10 ** rng.normal(-6, 0.1, rx.shape),
            *(nan for _ in READS[7:]),
        ]
        ps.hand_over(hrs, mats, ber_limit=ber_limit)
        del mats, rx, temp
        if (hrs[-1] - h_from) % 72 >= 48 or hrs[-1] == h_to:
            win_hours, w = ps._window(max(h_from, int(hrs[-1]) - ps.window + 1), int(hrs[-1]))
            found = ps.steps.update(win_hours, w["rx"], w["temp"])
            ps.register_steps(found)
            ps.last_hour = int(hrs[-1])
    ps.last_hour = h_to


def bench_scale(n_ports: int, days: list[int], profile: bool = False) -> list[dict[str, Any]]:
    """The whole bounded pass (:class:`linkmargin_cli.passes.Passes`: ``analyze`` with a
    :class:`~analyzer.bounded.PassState`, then the state's trims) over ``n_ports`` x 8 lanes, at each
    of ``days`` of hourly history. The history is folded into the pass state synthetically (untimed);
    the last hours come through the :class:`LaneState` as hourly polls of every lane, as they would.
    Two passes are timed each time: the first after the fold (six new hours; the DOM offsets' cache is
    cold, as after a restart) and the next one, an hour later (the steady state of hourly passes)."""
    import cProfile
    import pstats
    import resource

    from analyzer.bounded import REREAD_HOURS
    from linkmargin_cli.passes import Passes

    spec = fleet(n_ports)
    passes = Passes(spec)
    ps = passes.bounded
    assert ps is not None
    st = LaneState(spec, history_hours=ps.window + 24)
    rng = np.random.default_rng(3)
    h0 = int(T0.timestamp() // 3600)
    ps.first_hour = h0
    done, out = h0 - 1, []

    def poll(h: int) -> pl.DataFrame:
        return poll_batch(spec, T0 + timedelta(hours=h - h0, minutes=30), rng, 1000 + 5000 * (h - h0))

    for d in sorted(days):
        end = h0 + 24 * d - 1  # the newest hour at the first timed pass
        fold_to = end - 4
        _fold_days(ps, n_ports, done + 1, fold_to, rng)
        for label, hrs in (("first", range(fold_to - REREAD_HOURS + 1, end + 1)), ("next", [end + 1])):
            st.ingest_many(poll(h) for h in hrs)
            st.latest  # noqa: B018  (the deferred merge: not part of the pass)
            rss0, peak0 = _rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            prof = cProfile.Profile() if profile else None
            t, c = time.perf_counter(), time.process_time()
            if prof:
                prof.enable()
            an = passes.run(st, horizons={"21d": 21.0}, planned=None, now=None)
            if prof:
                prof.disable()
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            assert an.lanes.height == spec.lanes.height
            out.append(
                {
                    "days": d,
                    "label": label,
                    "wall": wall,
                    "cpu": cpu,
                    "rss_before_mb": rss0,
                    "peak_before_mb": peak0,
                    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                    "history_h": float(np.nanmax(an.lanes["history_hours"].to_numpy())),
                    "steps": float(an.steps.height),
                }
            )
            if prof:
                pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
            del an
        done = end + 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ports", type=int, default=4000, help="ports (x8 lanes) in the ingest benchmark")
    ap.add_argument("--polls", type=int, default=25)
    ap.add_argument("--lanes", type=int, default=500_000)
    ap.add_argument("--pass-ports", type=int, default=0, help="ports (x8 lanes) in the analysis pass")
    ap.add_argument("--pass-days", type=int, nargs="*", default=[7, 21])
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--skip-forecast", action="store_true")
    ap.add_argument("--bounded-lanes", type=int, default=0, help="lanes in the bounded trend-fit bench")
    ap.add_argument("--bounded-days", type=int, default=21)
    ap.add_argument("--bounded", action="store_true", help="the analysis pass with the bounded estimators")
    ap.add_argument("--scale-ports", type=int, default=0, help="ports (x8 lanes): the whole bounded pass")
    ap.add_argument("--scale-days", type=int, nargs="*", default=[7, 21])
    ap.add_argument("--profile", action="store_true", help="cProfile the whole bounded pass")
    a = ap.parse_args()
    print(f"POLARS_MAX_THREADS={os.environ.get('POLARS_MAX_THREADS', 'unset')}")
    if not a.skip_ingest:
        rate, rate_cpu = bench_ingest(a.ports, a.polls)
        print(
            f"state update: {rate:,.0f} samples/s wall, {rate_cpu:,.0f} samples per CPU-second"
            f" ({a.ports} ports x 8 lanes, {a.polls} polls), load {os.getloadavg()[0]:.1f}"
        )
    if not a.skip_forecast:
        t_np, t_all = bench_forecast(a.lanes)
        print(
            f"forecast refresh {a.lanes:,} lanes: numpy {t_np * 1000:.0f} ms,"
            f" with per-link ranking {t_all * 1000:.0f} ms"
        )
    if a.bounded_lanes:
        r = bench_bounded(a.bounded_lanes, a.bounded_days)
        print(
            f"bounded Rx trend fit {a.bounded_lanes:,} lanes x {a.bounded_days} days hourly (168-h ring):"
            f" fit {r['fit_wall']:.2f} s wall / {r['fit_cpu']:.2f} s CPU; pushes {r['push_wall']:.2f} s wall"
            f" / {r['push_cpu']:.2f} s CPU; peak RSS {r['rss_mb']:,.0f} MB; median |drift error|"
            f" {r['drift_err']:.5f} dB/day; load {os.getloadavg()[0]:.1f}"
        )
    if a.scale_ports:
        for r in bench_scale(a.scale_ports, a.scale_days, a.profile):
            print(
                f"whole bounded pass ({r['label']}) {a.scale_ports * 8:,} lanes, {r['days']:.0f} days"
                f" of hourly history (lanes' history up to {r['history_h']:.0f} h, {r['steps']:.0f} steps):"
                f" {r['cpu']:.2f} s CPU, {r['wall']:.2f} s wall;"
                f" RSS before the pass {r['rss_before_mb']:,.0f} MB, peak {r['peak_before_mb']:,.0f} MB"
                f" before and {r['peak_mb']:,.0f} MB after it;"
                f" load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    for days in a.pass_days if a.pass_ports else []:
        runs = bench_pass(a.pass_ports, days, bounded=a.bounded)
        print(
            f"analysis pass{' (bounded)' if a.bounded else ''} {a.pass_ports * 8:,} lanes x {days} days"
            f" hourly, load {os.getloadavg()[0]:.1f}: "
            + ", ".join(f"{w:.2f} s wall / {c:.2f} s CPU" for w, c in runs)
        )


if __name__ == "__main__":
    main()
