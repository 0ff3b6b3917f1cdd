"""A synthetic fleet with known cohort parameters, emitted as Sample batches (vectorized)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import polars as pl

from analyzer.spec import LinkSpec
from linkmargin.samples import conform

from .helpers import T0

TRUTH = {
    ("MMC", "field"): {"p": 0.4, "size": 1.0, "size_sd": 0.15, "drift": -0.03, "drift_sd": 0.005},
    ("MTP-16", "factory"): {"p": 0.1, "size": 0.6, "size_sd": 0.1, "drift": -0.002, "drift_sd": 0.001},
}
THERMAL = -0.02


@dataclass
class Fleet:
    spec: LinkSpec
    samples: pl.DataFrame
    drift: np.ndarray  # true per-lane drift, spec order
    n_hours: int


def make_fleet(
    n_links: int = 80, lanes: int = 4, days: int = 14, seed: int = 7, noise: float = 0.04
) -> Fleet:
    rng = np.random.default_rng(seed)
    n_hours = days * 24
    lane_rows, point_rows, event_rows = [], [], []
    ys, temps, drifts = [], [], []
    h = np.arange(n_hours)
    for i in range(n_links):
        link = f"L{i:03d}"
        dev, far = f"leaf{i:03d}", f"spine{i % 8}"
        mmc = i % 2 == 0
        points = [("MTP-16", "factory", f"{link}-mtp")] + ([("MMC", "field", f"{link}-mmc")] if mmc else [])
        cohort = ("MMC", "field") if mmc else ("MTP-16", "factory")
        tr = TRUTH[cohort]
        d_link = rng.normal(tr["drift"], tr["drift_sd"])
        temp = 38 + 5 * np.sin(2 * np.pi * (h + rng.uniform(0, 24)) / 24) + rng.normal(0, 0.2, n_hours)
        offset = np.zeros(n_hours)
        for pos, (fam, term, pid) in enumerate(points):
            point_rows.append(
                {"link": link, "point": pid, "position": pos + 1, "family": fam, "termination": term}
            )
            ptr = TRUTH[(fam, term)]
            days_m = [2, 6, 10] if pos == 0 else [4, 8, 12]
            for dm in days_m:
                at = dm * 24 + rng.uniform(1, 20)
                event_rows.append({"point": pid, "ts": T0 + timedelta(hours=at), "kind": "mated"})
                if rng.random() < ptr["p"]:
                    offset[h > at] -= max(0.35, rng.normal(ptr["size"], ptr["size_sd"]))
        for ln in range(1, lanes + 1):
            lane_rows.append(
                {
                    "link": link,
                    "device": dev,
                    "port": "Ethernet1",
                    "lane": ln,
                    "direction": "b-rx",
                    "far_device": far,
                    "far_port": f"Ethernet{i}",
                    "sensitivity_dbm": -8.0,
                    "fec_limit_ber": 2.4e-4,
                    "lane_rate_bps": 53.125e9,
                    "low_warn_dbm": -7.0,
                    "expected_loss_db": 2.0,
                }
            )
            y = -3.0 + rng.normal(0, 0.3) + d_link * h / 24 + THERMAL * (temp - 38) + offset
            ys.append(y + rng.normal(0, noise, n_hours))
            temps.append(temp)
            drifts.append(d_link)
    spec = LinkSpec.build(lane_rows, point_rows, event_rows)
    lanes_df = spec.lanes
    n_l = lanes_df.height
    ts = pl.Series([T0 + timedelta(hours=float(x) + 0.5) for x in h]).cast(pl.Datetime("us", "UTC"))
    rx = pl.DataFrame(
        {
            "ts": pl.Series(np.tile(ts.to_numpy(), n_l)).cast(pl.Datetime("us", "UTC")),
            "device": np.repeat(lanes_df["device"].to_numpy(), n_hours),
            "port": np.repeat(lanes_df["port"].to_numpy(), n_hours),
            "lane": np.repeat(lanes_df["lane"].to_numpy(), n_hours),
            "metric": "rx_power_dbm",
            "value": np.concatenate(ys),
        }
    )
    mod_idx = np.arange(0, n_l, lanes)
    tp = pl.DataFrame(
        {
            "ts": pl.Series(np.tile(ts.to_numpy(), mod_idx.size)).cast(pl.Datetime("us", "UTC")),
            "device": np.repeat(lanes_df["device"].to_numpy()[mod_idx], n_hours),
            "port": np.repeat(lanes_df["port"].to_numpy()[mod_idx], n_hours),
            "metric": "temperature_c",
            "value": np.concatenate([temps[i] for i in mod_idx]),
        }
    )
    frame = conform(pl.concat([rx, tp], how="diagonal")).sort("ts")
    return Fleet(spec, frame, np.array(drifts), n_hours)
