"""BER worse than Rx power explains: reflections on PAM4 links.

Reflective points (index-gel field connectors and mechanical splices: ``reflective`` in the spec, from
the connector catalog's ``gel``) send light back; on PAM4 lanes the reflected copies (multi-path
interference) close the eye and raise the pre-FEC BER while the average power the DOM reports does not
move. Gel return loss drifts with thermal cycles, so the penalty grows over days.

Per lane, hour by hour, the BER is turned into the margin it implies (the analyzer's BER model,
:func:`linkmargin.budget.ber_margin_db`) and compared with the DOM's margin (Rx minus sensitivity):

    residual(t) = DOM margin(t) - BER-implied margin(t)

A DOM offset is a constant residual (:mod:`analyzer.calibration` reads it off the same hours), a
receiver off its datasheet sensitivity likewise, a DOM that follows module temperature swings it day
by day around a constant; a loss in the channel moves Rx and the BER together and leaves it flat. What
raises it for days is a penalty the power does not show. Over the last ``WINDOW_H`` hours, split into
thirds, a lane is flagged when

- the residual's median rises by at least ``RISE_DB`` from the first third to the last, and each half
  of the rise (first to middle third, middle to last) carries at least ``GROWTH_SHARE`` of it: it grows
  over the week (a thermal-cycle drift), it is not one jump (a step, which is loss or a fault) nor one
  noisy hour,
- the Rx margin of every lane of its port moved less than ``FLAT_SHARE`` of that rise (the power does
  not explain it; a port-level FEC counter mixes the port's lanes, so one lane's loss step raises the
  BER every lane of the port is read with),
- and it is a PAM4 lane (lane rate of 50 Gb/s or more: IEEE 802.3cd and later run 50G+ lanes as PAM4).

Hours the counters rule out (flaps, port down, uncorrectable codewords) say nothing and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from analyzer.trend import LANE_CHUNK, _quiet, group_chunks, nanmedian_last
from linkmargin.budget import ber_margin_db

WINDOW_H: Final = 168
"""A week: long enough for a thermal-cycle drift to show, short enough to be recent."""
RISE_DB: Final = 0.5
"""Least rise of the BER-vs-Rx residual taken as a reflection penalty (DOM drift is ~0.01 dB/day)."""
GROWTH_SHARE: Final = 0.2
"""Least share of the rise each half of the window must carry for the residual to be growing."""
FLAT_SHARE: Final = 0.5
"""Rx may move at most this share of the residual's rise for the BER to be 'worse than Rx explains'."""
MIN_HOURS: Final = 6
"""Hours with an informative BER each third needs."""
PAM4_LANE_BPS: Final = 50e9

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Reflection:
    """Per lane: flagged, the residual's rise (dB of margin the BER lost beyond Rx), Rx change, hours."""

    flagged: npt.NDArray[np.bool_]
    rise_db: F64
    rx_change_db: F64
    hours: npt.NDArray[np.int64]


def ber_beyond_rx(
    margin_db: F64,
    ber: F64,
    ber_limit: F64,
    lane_rate_bps: F64,
    *,
    group: npt.NDArray[np.int64] | None = None,
    disturbed: npt.NDArray[np.bool_] | None = None,
    window_h: int = WINDOW_H,
) -> Reflection:
    """Lanes whose pre-FEC BER grew worse than their Rx power explains (see the module text).

    ``margin_db`` (DOM Rx minus sensitivity) and ``ber`` are (lanes x hours) hourly matrices;
    ``ber_limit`` and ``lane_rate_bps`` per lane; ``group`` the lane's receiving port (any integer
    id; None: every lane its own).
    """
    n = margin_db.shape[0]
    chunks = group_chunks(np.arange(n) if group is None else group) if n > LANE_CHUNK else []
    if len(chunks) > 1:  # port by port independent: in chunks of whole ports, for memory
        parts: list[np.ndarray] = [
            np.zeros(n, bool),
            np.full(n, np.nan),
            np.full(n, np.nan),
            np.zeros(n, np.int64),
        ]
        for idx in chunks:
            got = ber_beyond_rx(
                margin_db[idx],
                ber[idx],
                ber_limit[idx],
                lane_rate_bps[idx],
                group=None if group is None else group[idx],
                disturbed=None if disturbed is None else disturbed[idx],
                window_h=window_h,
            )
            for whole, part in zip(
                parts, (got.flagged, got.rise_db, got.rx_change_db, got.hours), strict=True
            ):
                whole[idx] = part
        return Reflection(*parts)
    m, b = margin_db[:, -window_h:], ber[:, -window_h:]
    if disturbed is not None:
        b = np.where(disturbed[:, -window_h:], np.nan, b)
    with _quiet(), np.errstate(all="ignore"):
        implied = ber_margin_db(np.where(b > 0, b, np.nan), ber_limit[:, None])
    resid = np.where(np.isfinite(m) & np.isfinite(implied), m - implied, np.nan)
    thirds = np.array_split(np.arange(m.shape[1]), 3) if m.shape[1] >= 3 else []
    if len(thirds) < 3:
        z = np.zeros(n)
        return Reflection(np.zeros(n, bool), z * np.nan, z * np.nan, np.zeros(n, np.int64))
    with _quiet():
        r = [nanmedian_last(resid[:, t]) for t in thirds]
        mx = [nanmedian_last(np.where(np.isfinite(resid[:, t]), m[:, t], np.nan)) for t in thirds]
    counts = [np.isfinite(resid[:, t]).sum(axis=1) for t in thirds]
    rise, rx_change = r[2] - r[0], mx[2] - mx[0]
    enough = np.all([c >= MIN_HOURS for c in counts], axis=0)
    growing = (r[1] - r[0] >= GROWTH_SHARE * rise) & (r[2] - r[1] >= GROWTH_SHARE * rise)
    # the largest Rx move among the lanes of each lane's port
    moved = np.nan_to_num(np.abs(rx_change), nan=np.inf)
    if group is not None and n:
        _, inv = np.unique(group, return_inverse=True)
        port_moved = np.zeros(inv.max() + 1)
        np.maximum.at(port_moved, inv, moved)
        moved = port_moved[inv]
    flagged = (
        enough
        & (rise >= RISE_DB)
        & growing
        & (moved <= FLAT_SHARE * rise)
        & (np.nan_to_num(lane_rate_bps) >= PAM4_LANE_BPS)
    )
    return Reflection(
        np.nan_to_num(flagged, nan=0).astype(bool),
        np.where(enough, rise, np.nan),
        np.where(enough, rx_change, np.nan),
        np.sum(counts, axis=0).astype(np.int64),
    )
