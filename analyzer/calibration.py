"""Each receiving module's DOM Rx offset, read off its own pre-FEC BER.

DOM Rx power is accurate to +-3 dB only (SFF-8472 / CMIS; module datasheets): a module reading
0.4 dB low puts a link with 0.3 dB of margin at -0.1 dB on paper. The FEC counters measure the same
receiver without that error. For every hour where a port's BER is informative (its implied margin
at most ``max_margin_db``), the offset d solves

    mean over the port's lanes of BER(m_l - d) = measured BER of the port,

with m_l the lane's DOM margin (Rx minus sensitivity) and BER(m) the Gaussian-decision model
(:func:`linkmargin.budget.ber_at_margin_db`). A port-level FEC counter measures the mean over its
lanes; lane-level counters are averaged the same way, so both read alike. The offset is the median
over those hours. It holds the DOM error and how far this receiver is from the PMD's worst-case
sensitivity; either way it is the distance between the DOM reading and the FEC limit.

An offset is a property of the meter, so it must be stable against the module's own BER over time;
only then may it correct a reading:

- hours in which the port flapped, was down or counted uncorrectable codewords say nothing: there the
  corrected-codeword count saturates (most codewords errored, many beyond correction) and the BER it
  gives is a floor, not a measurement;
- the hours are split at the lane's Rx steps; the offset is read over the hours since the last one,
  and where hours before it were informative too, both sides must agree within ``STABLE_DB`` — a step
  in Rx that moved the BER with it is loss, not offset, and a DOM that stepped while the BER did not
  is a meter that cannot be trusted either way;
- an offset that would *raise* the margin (the DOM reads low against the BER) across a step inside
  the hours read needs the BER to have been informative before that step as well: when a step is
  what made the BER informative, the step cannot be told from a meter error, and the DOM reading
  stands;
- the hourly offsets must agree among themselves (robust spread at most ``STABLE_DB``).

A port whose BER does not follow its DOM (:func:`ber_at_floor`) has no offset at all: a real receiver's
BER flattens at an error floor (residual ISI, MPI, reflections: the BER-vs-OMA curves of PAM4
receivers in IEEE 802.3bs/cd bend flat below ~1e-8..1e-6), and a floor caps the margin the BER implies
while the power can still fall or rise; read as an offset, the floor would move the DOM by the distance
between the power margin and the floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from analyzer.trend import LANE_CHUNK, _quiet, group_chunks, nanmedian_last, nanquantile_last
from linkmargin.budget import ber_at_margin_db, ber_at_q, ber_margin_db, q_at_margin_db, q_ratio

MAX_MARGIN_DB: Final = 2.0
"""Beyond this implied margin the BER says little (counts are few, real receivers hit error floors):
2 optical dB is a BER of ~1.6e-8 at the KP4 limit (the BER range of the 4 dB the electrical 20 log10
reading gave it before)."""


def informative_ber_margin(
    ber: npt.ArrayLike, disturbed: npt.ArrayLike, limit: npt.ArrayLike, max_margin_db: float = MAX_MARGIN_DB
) -> npt.NDArray[np.float64]:
    """The OMA margin (optical dB) each hourly pre-FEC BER implies where it says something: not in the
    hours the counters rule out (``disturbed``), and at most ``max_margin_db`` (NaN elsewhere).
    ``limit`` is each row's FEC limit (lanes x 1 against lanes x hours)."""
    with _quiet():
        m = ber_margin_db(np.where(np.asarray(disturbed, dtype=bool), np.nan, ber), limit)
    return np.where(np.isfinite(m) & (m <= max_margin_db), m, np.nan)


def receiving_ports(lanes: pl.DataFrame) -> npt.NDArray[np.int64]:
    """Per spec lane, an id of its receiving port (device, port): the lanes that share one FEC, so one
    set of FEC counters and one pre-FEC BER."""
    return lanes.select(pl.struct("device", "port").rank("dense")).to_series().to_numpy().astype(np.int64)


def port_wide_steps(
    li: npt.ArrayLike, hour: npt.ArrayLike, port: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Rx steps (lane index, hour) as steps of the BER every lane of the same port reads.

    An RS-FEC codeword is striped over all the port's lanes, so its corrected-codeword counts (and the
    BER read off them) belong to the port (IEEE 802.3 Clause 91/119; the per-PCS-lane counters of
    IEEE8023-MAU-MIB are not optical lanes): a loss step on some lanes moves the BER every lane of the
    port is given. Fitted without that step, a lane with no step of its own reads the port's BER step
    as a slope. Returns each step for every lane of its port, one per (lane, hour), by lane then hour.
    """
    li_a = np.asarray(li, dtype=np.int64)
    if li_a.size == 0:
        return li_a, np.asarray(hour, dtype=np.int64)
    steps = pl.DataFrame({"g": port[li_a], "hour": np.asarray(hour, dtype=np.int64)}).unique()
    lanes = pl.DataFrame({"li": np.arange(port.size, dtype=np.int64), "g": port})
    out = steps.join(lanes, on="g").sort("li", "hour")
    return out["li"].to_numpy(), out["hour"].to_numpy()


BOUND_DB: Final = 3.0
"""The MSA's DOM accuracy: an offset at this bound means the model does not fit the port."""
STABLE_DB: Final = 0.5
"""How far the offset read on the two sides of a step (or hour to hour) may differ and still be one."""
FLOOR_SPAN_DB: Final = 0.2
"""The port's DOM margin must have moved this much (max - min over the hours read, :func:`ber_at_floor`)
before its BER's not following is judged: twice the 0.1 dB step many modules report Rx power in, so
quantization does not decide the slope; a DOM monitor's own drift (its +-3 dB accuracy spans
temperature and life, i.e. years) moves it far less in three days."""
FOLLOW_SLOPE: Final = 0.5
"""Slope of the BER-implied margin on the DOM margin, hour by hour: 1 where the BER follows the power
(dB for dB under a Gaussian decision), 0 at a floor. Below this, with slope 1 rejected at 3 standard
errors, the BER is at its floor."""

F64 = npt.NDArray[np.float64]


class OffsetCache:
    """Each port's hourly offset (the bisection of :func:`rx_offsets`) by absolute hour, for hours whose
    inputs no longer change (before ``final_before``: a bounded pass hands an hour over once, so its
    Rx, BER and counters are final), so a pass bisects only its new hours. It is a cache: not
    checkpointed, the first pass after a restart bisects every hour it reads again."""

    def __init__(self) -> None:
        self.by_hour: dict[int, F64] = {}  # hour -> offset of every port (ports in ``group`` order)
        self.final_before: int | None = None
        self.parts: dict[int, OffsetCache] = {}  # one per chunk of ports (:func:`rx_offsets`)

    def part(self, i: int) -> OffsetCache:
        """The cache of the ``i``-th chunk of ports."""
        sub = self.parts.setdefault(i, OffsetCache())
        sub.final_before = self.final_before
        return sub


def rx_offsets(
    margin_db: F64,
    ber: F64,
    ber_limit: F64,
    group: npt.NDArray[np.int64],
    *,
    disturbed: npt.NDArray[np.bool_] | None = None,
    segment: npt.NDArray[np.int32] | npt.NDArray[np.int64] | None = None,
    max_margin_db: float = MAX_MARGIN_DB,
    min_hours: int = 3,
    last_hours: int = 72,
    iters: int = 24,
    hours: npt.NDArray[np.int64] | None = None,
    cache: OffsetCache | None = None,
) -> tuple[F64, npt.NDArray[np.int64]]:
    """Per lane: its port's DOM offset in dB (DOM margin minus true margin; NaN: not known) and hours used.

    ``margin_db`` and ``ber`` are (lanes x hours) hourly matrices, ``ber_limit`` per lane and
    ``group`` the lane's receiving port (any integer id). Only the last ``last_hours`` hours count.
    ``disturbed`` (lanes x hours) marks hours the counters or port state rule out; ``segment`` (lanes x
    hours) numbers the lane's Rx steps so far (0 before the first). With ``cache`` (and ``hours``,
    each column's absolute hour) the hours it holds are not bisected again.
    """
    n_lanes = margin_db.shape[0]
    out, used = np.full(n_lanes, np.nan), np.zeros(n_lanes, dtype=np.int64)
    if n_lanes == 0 or margin_db.shape[1] == 0:
        return out, used
    chunks = group_chunks(group) if n_lanes > LANE_CHUNK else []
    if len(chunks) > 1:  # port by port independent: in chunks of whole ports, for memory
        for i, idx in enumerate(chunks):
            out[idx], used[idx] = rx_offsets(
                margin_db[idx],
                ber[idx],
                ber_limit[idx],
                group[idx],
                disturbed=None if disturbed is None else disturbed[idx],
                segment=None if segment is None else segment[idx],
                max_margin_db=max_margin_db,
                min_hours=min_hours,
                last_hours=last_hours,
                iters=iters,
                hours=hours,
                cache=None if cache is None else cache.part(i),
            )
        return out, used
    ph = _port_hours(margin_db, ber, ber_limit, group, disturbed, last_hours)
    seg = np.zeros(ph.ms.shape, dtype=np.int64) if segment is None else segment[:, -last_hours:]
    order, starts, n_in, ms, lim, port_ber = ph.order, ph.starts, ph.n_in, ph.ms, ph.lim, ph.port_ber
    ok = ph.complete & (port_ber > 0) & (ph.implied <= max_margin_db)
    keep = ok.sum(axis=1) >= min_hours
    if not keep.any():
        return out, used
    # bisection on the offset of every (port, hour) at once, over the ports that qualify (with a
    # cache: every port, over the hours it does not hold)
    d_all: F64 = np.full(port_ber.shape, np.nan)
    todo = np.ones(port_ber.shape[1], dtype=bool)
    hrs = None if hours is None else np.asarray(hours, dtype=np.int64)[-last_hours:]
    if cache is not None and hrs is not None:
        for j, h in enumerate(hrs.tolist()):
            got = cache.by_hour.get(h)
            if got is not None and got.size == d_all.shape[0]:
                d_all[:, j], todo[j] = got, False
    cols = np.flatnonzero(todo)
    which = keep if cache is None else np.ones_like(keep)
    rows = np.flatnonzero(np.repeat(which, n_in))  # whole ports, still in sorted order
    sub_n = n_in[which]
    sub_starts = np.r_[0, np.cumsum(sub_n)[:-1]]
    if cols.size:
        ms_k, lim_k = np.nan_to_num(ms[rows][:, cols]), lim[rows][:, None]
        target, lane_port = port_ber[which][:, cols], np.repeat(np.arange(sub_starts.size), sub_n)
        d_new = _bisect(ms_k, lim_k, target, lane_port, sub_starts, iters)
        d_all[np.ix_(np.flatnonzero(which), cols)] = d_new
    if cache is not None and hrs is not None:
        final = cache.final_before if cache.final_before is not None else int(hrs[0])
        cache.by_hour = {h: v for h, v in cache.by_hour.items() if h >= hrs[0]}
        for j in cols.tolist():
            if hrs[j] < final:
                cache.by_hour[int(hrs[j])] = d_all[:, j].copy()
    d = d_all[keep]
    good = ok[keep] & (np.abs(d) < BOUND_DB - 1e-3)
    # a port's segment: a step on any of its lanes starts a new one
    port_seg = np.maximum.reduceat(seg[order], starts, axis=0)[keep]
    cur = good & (port_seg == port_seg[:, -1:])
    early = good & (port_seg < port_seg[:, -1:])
    with _quiet():
        off = nanmedian_last(np.where(cur, d, np.nan))
        off_early = nanmedian_last(np.where(early, d, np.nan))
        spread = 1.4826 * nanmedian_last(np.abs(np.where(cur, d, np.nan) - off[:, None]))
    n_good = cur.sum(axis=1)
    stepped = port_seg[:, -1] > port_seg[:, 0]  # a step inside the hours read
    stable = (
        (n_good >= min_hours)
        & (spread <= STABLE_DB)
        & ~(early.any(axis=1) & ~(np.abs(off - off_early) <= STABLE_DB))
        & ~(stepped & ~early.any(axis=1) & (off < 0))
    )
    off = np.where(stable, off, np.nan)
    lane_off = np.repeat(off, n_in[keep])
    lane_used = np.repeat(n_good, n_in[keep])
    rows = np.flatnonzero(np.repeat(keep, n_in))
    out[order[rows]] = lane_off
    used[order[rows]] = lane_used
    return out, used


@dataclass(frozen=True)
class _PortHours:
    """The last hours of lanes grouped by receiving port: lanes sorted by port (``order``), each port's
    first row (``starts``) and lane count, the sorted DOM margins and limits, and per (port, hour) the
    port's BER (mean over its lanes), whether every lane had a DOM and a BER, and the margin it implies."""

    order: npt.NDArray[np.int64]
    starts: npt.NDArray[np.int64]
    n_in: npt.NDArray[np.int64]
    ms: F64
    lim: F64
    port_ber: F64
    complete: npt.NDArray[np.bool_]
    implied: F64


def _port_hours(
    margin_db: F64,
    ber: F64,
    ber_limit: F64,
    group: npt.NDArray[np.int64],
    disturbed: npt.NDArray[np.bool_] | None,
    last_hours: int,
) -> _PortHours:
    m, b = margin_db[:, -last_hours:], ber[:, -last_hours:]
    if disturbed is not None:
        b = np.where(disturbed[:, -last_hours:], np.nan, b)
    order = np.argsort(group, kind="stable")
    g_sorted = group[order]
    starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
    n_in = np.diff(np.r_[starts, group.size])
    ms, bs, lim = m[order], b[order], ber_limit[order]
    complete = (
        np.add.reduceat((np.isfinite(ms) & np.isfinite(bs)).astype(np.int64), starts, axis=0) == n_in[:, None]
    )
    port_ber = np.add.reduceat(np.nan_to_num(bs), starts, axis=0) / n_in[:, None]
    with _quiet():
        implied = ber_margin_db(port_ber, lim[starts][:, None])
    return _PortHours(order, starts, n_in, ms, lim, port_ber, complete, implied)


def ber_at_floor(
    margin_db: F64,
    ber: F64,
    ber_limit: F64,
    group: npt.NDArray[np.int64],
    *,
    disturbed: npt.NDArray[np.bool_] | None = None,
    last_hours: int = 72,
    min_hours: int = 6,
) -> npt.NDArray[np.bool_]:
    """Per lane: its port's BER stayed put while the port's DOM margin moved (an error floor).

    Over the last ``last_hours`` hours in which every lane of the port has a DOM margin and the port a
    BER (not ``disturbed``), the BER-implied margin is regressed on the margin the DOM implies for the
    port (the Gaussian-decision BER of each lane at its DOM margin, averaged over the port's lanes as
    its counters average them, so the lane nearest its limit weighs most): a floor where that margin
    spanned at least ``FLOOR_SPAN_DB`` (10th to 90th percentile), the BER-implied margin less than
    ``FOLLOW_SLOPE`` of that (a BER that moves on its own, as a growing reflection penalty moves it, is
    no floor), the slope is under ``FOLLOW_SLOPE`` and slope 1 is rejected at 3 standard errors.
    Arguments as :func:`rx_offsets`; ports are independent, so a caller with many lanes hands them over
    in chunks of whole ports (:func:`analyzer.trend.group_chunks`).
    """
    out = np.zeros(margin_db.shape[0], dtype=bool)
    if margin_db.shape[0] == 0 or margin_db.shape[1] == 0:
        return out
    ph = _port_hours(margin_db, ber, ber_limit, group, disturbed, last_hours)
    use = ph.complete & (ph.port_ber > 0) & np.isfinite(ph.implied)
    with _quiet():
        # what the port's BER would imply if it followed the DOM: the model BER of every lane at its DOM
        # margin, averaged as the port's counters average them (the lowest margin dominates)
        model = np.add.reduceat(ber_at_margin_db(ph.ms, ph.lim[:, None]), ph.starts, axis=0)
        x = ber_margin_db(model / ph.n_in[:, None], ph.lim[ph.starts][:, None])
        use &= np.isfinite(x)  # a model BER that underflows says nothing
        x = np.where(use, x, np.nan)
        y = np.where(use, ph.implied, np.nan)
        n = use.sum(axis=1)
        span = nanquantile_last(x, 0.9) - nanquantile_last(x, 0.1)  # robust: one odd hour does not make it
        y_span = nanquantile_last(y, 0.9) - nanquantile_last(y, 0.1)
        xc = x - np.nanmean(x, axis=1, keepdims=True)
        yc = y - np.nanmean(y, axis=1, keepdims=True)
        sxx = np.nansum(xc * xc, axis=1)
        slope = np.nansum(xc * yc, axis=1) / sxx
        resid = np.nansum((yc - slope[:, None] * xc) ** 2, axis=1) / np.maximum(n - 2, 1)
        se = np.sqrt(resid / sxx)
        floor = (
            (n >= min_hours)
            & (span >= FLOOR_SPAN_DB)
            & (y_span <= FOLLOW_SLOPE * span)  # the BER stayed put: one moving on its own is no floor
            & (slope < FOLLOW_SLOPE)
            & (1.0 - slope > 3.0 * se)
        )
    out[ph.order] = np.repeat(floor, ph.n_in)
    return out


def _bisect(
    ms: F64,
    lim: F64,
    target: F64,
    lane_port: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    iters: int,
) -> F64:
    """The offset d of every (port, hour) at which the mean over the port's lanes (rows of ``ms``,
    grouped from ``starts``) of BER(m - d) equals ``target``, by bisection over +-``BOUND_DB``."""
    n = np.diff(np.r_[starts, ms.shape[0]])[:, None]
    lo = np.full(target.shape, -BOUND_DB)
    hi = np.full(target.shape, BOUND_DB)
    q0 = q_at_margin_db(ms, lim)  # each lane's Q at its DOM margin; an offset d scales it by q_ratio(-d)
    for _ in range(iters):
        mid = (lo + hi) / 2
        q = q0 * q_ratio(-mid)[lane_port]
        model = np.add.reduceat(ber_at_q(q), starts, axis=0) / n
        too_high = model > target  # modelled BER above the measured: the offset is smaller
        hi = np.where(too_high, mid, hi)
        lo = np.where(too_high, lo, mid)
    return (lo + hi) / 2
