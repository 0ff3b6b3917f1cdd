"""Small explicit fleets and sample batches with known answers for the analyzer tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from analyzer.analysis import Analysis, analyze
from analyzer.spec import LinkSpec
from analyzer.state import LaneState
from linkmargin.samples import conform

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def one_link_spec(lanes: int = 1, *, sens: float = -10.0, low_warn: float = -8.0) -> LinkSpec:
    """One link L1 received at dev-b/p1 from dev-a/p1, lane rate 53.125 Gb/s, KP4 limit 2.4e-4."""
    rows = [
        {
            "link": "L1",
            "device": "dev-b",
            "port": "p1",
            "lane": i + 1,
            "direction": "a->b",
            "far_device": "dev-a",
            "far_port": "p1",
            "sensitivity_dbm": sens,
            "fec_limit_ber": 2.4e-4,
            "fec_n_symbols": 544,
            "fec_symbol_bits": 10,
            "lane_rate_bps": 53.125e9,
            "low_warn_dbm": low_warn,
            "expected_loss_db": 1.5,
        }
        for i in range(lanes)
    ]
    points = [
        {"link": "L1", "point": "P-mtp", "position": 1, "family": "MTP-16", "termination": "factory"},
        {"link": "L1", "point": "P-mmc", "position": 2, "family": "MMC", "termination": "field"},
    ]
    return LinkSpec.build(rows, points, [])


def samples(rows: list[dict[str, object]]) -> pl.DataFrame:
    """A conformed sample batch from dict rows (``t`` = hours after T0)."""
    out = []
    for r in rows:
        r = dict(r)
        t = r.pop("t")
        r["ts"] = T0 + timedelta(hours=float(t))  # type: ignore[arg-type]
        out.append(r)
    return conform(pl.DataFrame(out, infer_schema_length=None))


def hourly(h: object, device: str, metric: str, values: object, lane: int | None = None) -> pl.DataFrame:
    """One series of hourly values on ``device`` Ethernet1 (a module's when ``lane`` is None)."""
    cols: dict[str, object] = {
        "h": h,
        "device": device,
        "port": "Ethernet1",
        "metric": metric,
        "value": values,
    }
    return pl.DataFrame(cols if lane is None else {**cols, "lane": lane})


def analyzed(spec: LinkSpec, frame: pl.DataFrame, days: int) -> Analysis:
    """The full pass over ``frame`` at ``days`` after :data:`T0`, one 21-day horizon."""
    st = LaneState(spec)
    st.ingest(frame)
    return analyze(st, horizons={"21d": 21.0}, now=T0 + timedelta(days=days))


def hourly_samples(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Frames of hourly values (``h``: hours from :data:`T0`) as samples in time order, each at half
    past its hour."""
    frame = pl.concat(frames, how="diagonal").with_columns(
        (pl.lit(T0) + pl.duration(minutes=pl.col("h") * 60 + 30)).alias("ts")
    )
    return conform(frame).sort("ts")


def port_lane(
    link: str, i: int, lane: int, *, sens: float, limit: float, rate_bps: float
) -> dict[str, object]:
    """The spec row of lane ``lane`` of test link ``link`` (leaf``i`` Ethernet1 -> spine``i``
    Ethernet9, KP4 FEC with ``limit``)."""
    return {
        "link": link, "device": f"leaf{i}", "port": "Ethernet1", "lane": lane, "direction": "a->b",
        "far_device": f"spine{i}", "far_port": "Ethernet9", "sensitivity_dbm": sens,
        "fec_limit_ber": limit, "fec_n_symbols": 544, "fec_symbol_bits": 10,
        "lane_rate_bps": rate_bps, "low_warn_dbm": sens + 1.0, "expected_loss_db": 2.0,
    }  # fmt: skip


def mtp_point(link: str) -> dict[str, object]:
    """The one factory MTP point of a test link's channel."""
    return {"link": link, "point": f"{link}-mtp", "position": 0, "connector": "MTP-16", "family": "MTP",
            "termination": "factory"}  # fmt: skip


LaneSeries = Callable[[int, str, int, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""(link number from 1, link, lane, hours) -> the lane's DOM margin (dB) and its pre-FEC BER, hourly."""


def kp4_fleet(
    links: tuple[str, ...],
    series: LaneSeries,
    *,
    days: int,
    seed: int,
    lanes: int = 4,
    rate_bps: float = 53.125e9,
    sens: float = -7.0,
    limit: float = 2.4e-4,
    ber_noise: float = 0.03,
    port_ber: bool = False,
) -> tuple[LinkSpec, pl.DataFrame]:
    """Test links of ``lanes`` lanes (leaf``i`` Ethernet1, one factory MTP point each) with ``days`` of
    hourly samples: DOM Rx (the margin ``series`` gives plus 0.02 dB of noise, in the DOM's 0.1 dB steps),
    pre-FEC BER (``series``' times a lognormal scatter of ``ber_noise``; with ``port_ber`` one counter
    per port, the mean of its lanes') and module temperature (40 C +- 3 C daily)."""
    rng = np.random.default_rng(seed)
    h = np.arange(days * 24)
    rows, points, frames = [], [], []
    numbers = range(1, lanes + 1)
    for i, link in enumerate(links, start=1):
        rows += [port_lane(link, i, ln, sens=sens, limit=limit, rate_bps=rate_bps) for ln in numbers]
        points.append(mtp_point(link))
        port = np.zeros(h.size)
        for ln in numbers:
            dom, ber = series(i, link, ln, h)
            rx = np.round(sens + dom + rng.normal(0, 0.02, h.size), 1)
            frames.append(hourly(h, f"leaf{i}", "rx_power_dbm", rx, lane=ln))
            if port_ber:
                port += ber / lanes
            else:
                lane_ber = ber * np.exp(rng.normal(0, ber_noise, h.size))
                frames.append(hourly(h, f"leaf{i}", "pre_fec_ber", lane_ber, lane=ln))
        if port_ber:
            frames.append(
                hourly(h, f"leaf{i}", "pre_fec_ber", port * np.exp(rng.normal(0, ber_noise, h.size)))
            )
        frames.append(hourly(h, f"leaf{i}", "temperature_c", 40 + 3 * np.sin(2 * np.pi * h / 24)))
    return LinkSpec.build(rows, points, []), hourly_samples(frames)


def daily_passes(spec: LinkSpec, frame: pl.DataFrame, days: int) -> tuple[Analysis, object]:
    """A bounded pass once a day over ``days`` days of ``frame`` (each day's samples ingested first,
    the state trimmed after each pass, as a running analyzer does): the last analysis and the passes."""
    from linkmargin_cli.passes import Passes

    st = LaneState(spec)
    passes = Passes(spec)
    an = None
    for day in range(1, days + 1):
        upto = T0 + timedelta(days=day)
        st.ingest(frame.filter((pl.col("ts") >= upto - timedelta(days=1)) & (pl.col("ts") < upto)))
        an = passes.run(st, horizons={"21d": 21.0}, planned=None, now=upto)
    assert an is not None
    return an, passes
