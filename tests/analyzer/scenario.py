"""Three links with known problems, as hourly Sample batches: a dirty mating, a dying optic, a healthy one."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from analyzer.spec import LinkSpec
from linkmargin.samples import conform

from .helpers import T0

DAYS = 10
MATED_AT_H = 5 * 24 + 3.5


def _lane(link: str, dev: str, far: str, lane: int) -> dict[str, object]:
    return {
        "link": link,
        "device": dev,
        "port": "Ethernet1",
        "lane": lane,
        "direction": "rx",
        "far_device": far,
        "far_port": "Ethernet9",
        "sensitivity_dbm": -7.0,
        "fec_limit_ber": 2.4e-4,
        "lane_rate_bps": 53.125e9,
        "low_warn_dbm": -6.0,
        "expected_loss_db": 2.0,
    }


def recent_t0() -> datetime:
    """A start such that the scenario's last hour is the one before now (for a live analyzer's clock)."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return now - timedelta(days=DAYS)


def build(t0: datetime = T0) -> tuple[LinkSpec, pl.DataFrame]:
    rng = np.random.default_rng(11)
    links = [("L-dirty", "leaf1", "spine1"), ("L-optic", "leaf2", "spine2"), ("L-ok", "leaf3", "spine3")]
    lanes = [_lane(lk, d, f, ln) for lk, d, f in links for ln in (1, 2)]
    points = []
    for lk, _, _ in links:
        points.append(
            {"link": lk, "point": f"{lk}-panel", "position": 1, "family": "MTP-16", "termination": "factory"}
        )
        points.append(
            {"link": lk, "point": f"{lk}-mmc", "position": 2, "family": "MMC", "termination": "field"}
        )
    events = [{"point": "L-dirty-mmc", "ts": t0 + timedelta(hours=MATED_AT_H), "kind": "mated"}]
    spec = LinkSpec.build(lanes, points, events)
    n = DAYS * 24
    h = np.arange(n)
    rows = []
    for lk, dev, far in links:
        temp = 40 + 3 * np.sin(2 * np.pi * h / 24)
        tx = np.full(n, 1.0)
        bias = np.full(n, 7.0)
        loss = np.full(n, 5.5)
        if lk == "L-dirty":
            loss = loss + np.where(h + 0.5 > MATED_AT_H, 2.5, 0.0)
        if lk == "L-optic":
            tx = tx - 0.12 * h / 24
            bias = bias + 0.05 * h / 24
        for ln in (1, 2):
            rx = tx - loss - 0.02 * (temp - 40) + rng.normal(0, 0.03, n)
            for metric, dv, vals in (
                ("rx_power_dbm", dev, rx),
                ("tx_power_dbm", far, tx + rng.normal(0, 0.02, n)),
                ("tx_bias_ma", far, bias + rng.normal(0, 0.01, n)),
            ):
                rows.append(
                    pl.DataFrame(
                        {
                            "hour": h,
                            "device": dv,
                            "port": "Ethernet1" if dv == dev else "Ethernet9",
                            "lane": ln,
                            "metric": metric,
                            "value": vals,
                        }
                    )
                )
        rows.append(
            pl.DataFrame(
                {"hour": h, "device": dev, "port": "Ethernet1", "metric": "temperature_c", "value": temp}
            )
        )
    frame = pl.concat(rows, how="diagonal").with_columns(
        (pl.lit(t0) + pl.duration(minutes=pl.col("hour") * 60 + 30)).alias("ts")
    )
    return spec, conform(frame).sort("ts")


FLAP_DAYS = 8
FLAP_MATED_AT_H = 5 * 24 + 3.5


def _p_fail(p_sym: float, n: int = 544, t: int = 15) -> float:
    """P(more than t of n symbols errored): the test's own binomial tail, not the analyzer's."""
    return 1.0 - sum(math.comb(n, k) * p_sym**k * (1 - p_sym) ** (n - k) for k in range(t + 1))


def flapping_after_mating(
    loss_db: float = 4.0, margin_before_db: float = 2.0, seed: int = 5, t0: datetime = T0
) -> tuple[LinkSpec, pl.DataFrame]:
    """One 4-lane KP4 link (helpers.one_link_spec) polled every 15 min for 8 days: ``loss_db`` added at
    a recorded mating of its field point P-mmc; below -1.5 dB the link flaps (down half the time).

    The receiving port reports DOM per lane and its FEC counters (corrected, uncorrectable), oper
    and admin status and ifLastChange, as IF-MIB and the MAU MIB do. The DOM is exact: no offset.
    """
    from linkmargin.budget import ber_at_margin_db

    from .helpers import one_link_spec

    rng = np.random.default_rng(seed)
    base = one_link_spec(4)
    spec = LinkSpec.build(
        base.lanes,
        base.points,
        [{"point": "P-mmc", "ts": t0 + timedelta(hours=FLAP_MATED_AT_H), "kind": "mated"}],
    )
    sens, n_polls, dt_s = -10.0, FLAP_DAYS * 96, 900.0
    hours = np.arange(n_polls) * 0.25
    after = hours > FLAP_MATED_AT_H
    margin = margin_before_db - np.where(after, loss_db, 0.0)
    temp = 40 + 3 * np.sin(2 * np.pi * hours / 24)
    cw_per_s = 4 * 53.125e9 / 5440
    ber = ber_at_margin_db(margin, 2.4e-4)
    p_sym = -np.expm1(10 * np.log1p(-ber))
    p_err = -np.expm1(544 * np.log1p(-p_sym))
    p_fail = np.clip([_p_fail(float(p)) for p in p_sym], 0.0, 1.0)
    flapping = margin < -1.5
    up_share = np.where(flapping, rng.uniform(0.2, 0.8, n_polls), 1.0)
    cw = cw_per_s * dt_s * up_share
    corrected = np.cumsum(rng.poisson(cw * np.clip(p_err - p_fail, 0, 1))).astype(np.uint64)
    uncorrected = np.cumsum(rng.poisson(cw * p_fail)).astype(np.uint64)
    uptime_cs = ((1e6 + np.arange(1, n_polls + 1) * dt_s) * 100).astype(np.int64)
    oper = np.where(flapping & (rng.random(n_polls) < 0.5), 2.0, 1.0)
    last_change = np.maximum.accumulate(np.where(flapping, uptime_cs - 3000, 100)).astype(np.float64)
    ts = [t0 + timedelta(hours=float(h)) for h in hours]
    frames = []
    for ln in range(1, 5):
        rx = sens + margin + rng.normal(0, 0.03, n_polls) - 0.02 * (temp - 40)
        frames.append(
            pl.DataFrame({"ts": ts, "lane": ln, "metric": "rx_power_dbm", "value": np.round(rx, 2)})
        )
    frames.append(pl.DataFrame({"ts": ts, "metric": "temperature_c", "value": temp}))
    for metric, vals in (
        ("oper_status", oper),
        ("admin_status", np.ones(n_polls)),
        ("last_change_cs", last_change),
    ):
        frames.append(pl.DataFrame({"ts": ts, "metric": metric, "value": vals, "uptime_cs": uptime_cs}))
    for metric, ctr in (("fec_corrected_cw", corrected), ("fec_uncorrected_cw", uncorrected)):
        frames.append(
            pl.DataFrame(
                {
                    "ts": ts,
                    "metric": metric,
                    "value": ctr.astype(np.float64),
                    "counter": pl.Series(ctr, dtype=pl.UInt64),
                    "counter_bits": pl.Series(np.full(n_polls, 64), dtype=pl.UInt8),
                    "uptime_cs": uptime_cs,
                }
            )
        )
    frame = pl.concat(frames, how="diagonal_relaxed").with_columns(
        pl.lit("dev-b").alias("device"), pl.lit("p1").alias("port")
    )
    return spec, conform(frame).sort("ts")
