"""One analyzer's analysis passes: bounded by default, the full recomputation on request.

Bounded (:mod:`analyzer.bounded`): one :class:`~analyzer.bounded.PassState` for the spec's lanes,
carried from pass to pass, written with the checkpoint and read back at start (a state kept for other
lanes is dropped: it holds lanes by position). After the first pass (which scans whatever history the
state holds into the folded statistics) the :class:`~analyzer.state.LaneState` keeps only the window
plus a day, so memory stays flat. Full (``--full-pass``): every pass recomputes over the whole history
the state keeps, as before; for checking the bounded one.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from analyzer import checkpoint
from analyzer.analysis import Analysis, analyze
from analyzer.bounded import RELEASED, PassState, lanes_key
from analyzer.spec import LinkSpec
from analyzer.state import LaneState
from linkmargin.samples import Metric

SLACK_HOURS = 24
"""Hours the state keeps beyond the bounded window: late samples, the hour still open."""


class Passes:
    """The analysis passes of one analyzer over one spec."""

    def __init__(self, spec: LinkSpec, *, full: bool = False, release: bool = True) -> None:
        """``release=False`` keeps the hours of the metrics the bounded rings hold in the state too
        (for a reader of the state's own Rx history, e.g. the backtest's ``predict_linear`` baseline)."""
        self.release = release
        self.key = lanes_key(spec.lanes)
        self.n_lanes = spec.lanes.height
        self.bounded: PassState | None = None if full else PassState(self.n_lanes, lanes_key=self.key)

    def restore(self, root: Path) -> str:
        """Take the bounded state of the checkpoint under ``root`` when it is for these lanes; what
        happened, in one line. Raises :class:`analyzer.checkpoint.CheckpointError` when unreadable."""
        if self.bounded is None:
            return "full pass: no bounded state kept"
        ps = checkpoint.load_bounded(root)
        if ps is None:
            return "no bounded state in the checkpoint: the first pass scans the restored hours"
        if ps.lanes_key != self.key or ps.rx.n_lanes != self.n_lanes:
            return "the spec's lanes changed since the checkpoint: the first pass scans the restored hours"
        self.bounded = ps
        return f"bounded state restored ({_hours(ps)} hours folded since the first)"

    def run(
        self,
        state: LaneState,
        *,
        horizons: dict[str, float],
        planned: pl.DataFrame | None,
        now: datetime | None,
        cohort_peers: pl.DataFrame | None = None,
    ) -> Analysis:
        """One pass; bounded, the state keeps only the window and a day afterwards."""
        an = analyze(
            state,
            horizons=horizons,
            planned=planned,
            now=now,
            bounded=self.bounded,
            cohort_peers=cohort_peers,
        )
        if self.bounded is not None:
            keep = self.bounded.window + SLACK_HOURS
            if state.history_hours > keep:
                state.bound_history(keep)
            since = self.bounded.keep_from()
            if since is not None and self.release:  # the rings hold the rest of these metrics' hours
                state.release(RELEASED, since)
        return an

    def rx_history(self, state: LaneState) -> tuple[np.ndarray, np.ndarray]:
        """Each lane's hourly Rx after a pass (hours, lanes x hours, oldest first): the bounded window's
        ring (the state releases those hours when ``release``), else the state's own."""
        ring = None if self.bounded is None else self.bounded.rx
        if ring is None or not (ring.hours >= 0).any():
            return state.matrix(Metric.RX_POWER_DBM)
        have = ring.hours >= 0
        return ring.hours[have], ring.y[:, have]

    def save(self, state: LaneState, root: Path) -> Path:
        """Checkpoint the state and the bounded estimators' state (when kept) under ``root``."""
        return checkpoint.save(state, root, bounded=self.bounded)


def _hours(ps: PassState) -> int:
    if ps.first_hour is None or ps.last_hour is None:
        return 0
    return ps.last_hour - ps.first_hour + 1
