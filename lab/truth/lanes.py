"""The true state of every lane over time: loss, power, margin and pre-FEC BER per link, direction, lane."""

from __future__ import annotations

import numpy as np
import polars as pl

from lab.physics.fleet import MAX_LANES
from lab.physics.sim import OPER_UP, FabricSim


def lane_frame(sim: FabricSim) -> pl.DataFrame:
    """One row per (link, direction, lane) with the true state at the sim's current time.

    dB/dBm columns are float32 (1e-6 dB is far below any effect); BER stays float64 (tiny values).
    """
    f = sim.fleet
    st = sim.optical(sim.t)
    rows_rx = np.concatenate([f.link_b_port, f.link_a_port])  # direction ab: b receives; ba: a receives
    rows_tx = np.concatenate([f.link_a_port, f.link_b_port])
    link = np.concatenate([np.arange(f.n_links), np.arange(f.n_links)])
    loss = np.concatenate([st.loss_db[:, 0], st.loss_db[:, 1]])
    lanes = f.port_lanes[rows_rx]
    mask = np.arange(MAX_LANES)[None, :] < lanes[:, None]
    li, lane = np.nonzero(mask)
    n = len(li)
    rx = rows_rx[li]
    return pl.DataFrame(
        {
            "t": pl.Series("t", [sim.wallclock(sim.t)], dtype=pl.Datetime("us", "UTC")).gather(
                np.zeros(n, np.int64)
            ),
            "link_id": pl.Series(f.link_ids, dtype=pl.Utf8).gather(link[li]),
            "direction": pl.Series(["ab", "ba"]).gather((li >= f.n_links).astype(np.int64)),
            "lane": (lane + 1).astype(np.int16),
            "rx_device": pl.Series(f.dev_names, dtype=pl.Utf8).gather(f.port_dev[rx]),
            "rx_port": pl.Series(f.port_names, dtype=pl.Utf8).gather(rx),
            "loss_db": loss[li, lane].astype(np.float32),
            "tx_power_dbm": st.tx_dbm[rows_tx[li], lane].astype(np.float32),
            "rx_power_dbm": st.rx_dbm[rx, lane].astype(np.float32),
            "margin_db": st.margin_db[rx, lane].astype(np.float32),
            "pre_fec_ber": st.ber[rx, lane],
            "oper_up": sim.oper[rx] == OPER_UP,
        }
    )


def run_truth(sim: FabricSim, step_s: float | None = None, until_s: float | None = None) -> pl.DataFrame:
    """Run the sim from its current time to `until_s`, sampling the lane truth every step_s."""
    step = step_s or sim.scenario.truth_step_s
    end = sim.scenario.duration_s if until_s is None else until_s
    frames = []
    t = sim.t
    while t <= end + 1e-9:
        sim.advance_to(t)
        frames.append(lane_frame(sim))
        t += step
    return pl.concat(frames)
