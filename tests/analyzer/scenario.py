"""Three links with known problems, as hourly Sample batches: a dirty mating, a dying optic, a healthy one."""

from __future__ import annotations

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
