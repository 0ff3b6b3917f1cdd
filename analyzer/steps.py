"""Change points in hourly Rx power, and their attribution to recorded connection-point events.

Detection is vectorized over lanes: the thermal swing is removed first (coefficient from the
regression of first differences of Rx on first differences of temperature, which steps and drift
barely touch), then the difference of medians of the ``window`` hours after and before every hour
boundary is scanned; local maxima above both ``min_db`` and ``k_sigma`` x the noise of that
difference are steps. A step whose boundary lies within ``tolerance_h`` of a mated / cleaned /
re-terminated event on one of the link's connection points is attributed to that point;
otherwise it is reported as unexplained (contamination or damage elsewhere).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from numpy.lib.stride_tricks import sliding_window_view

from analyzer.spec import LinkSpec
from analyzer.trend import LANE_CHUNK, _quiet, lane_chunks, nanmedian_last, sliding_nanmedian


def thermal_from_differences(y: np.ndarray, temp: np.ndarray) -> np.ndarray:
    """Per-lane dB/°C from a robust (Huber-trimmed) regression of Δy on ΔT through the origin."""
    dy, dt = np.diff(y, axis=1), np.diff(temp, axis=1)
    ok = np.isfinite(dy) & np.isfinite(dt)
    dy, dt = np.where(ok, dy, 0.0), np.where(ok, dt, 0.0)
    dydt, dt2 = dy * dt, dt * dt  # the regression's sums, kept: each trim only reweighs them
    sxx = dt2.sum(1)
    k = np.divide(dydt.sum(1), sxx, out=np.zeros(y.shape[0]), where=sxx > 0)
    ar = np.empty_like(dy)
    for _ in range(4):  # trim the few differences that straddle a step
        np.multiply(dt, k[:, None], out=ar)
        np.subtract(dy, ar, out=ar)
        np.abs(ar, out=ar)
        with _quiet():
            s = 1.4826 * nanmedian_last(np.where(ok, ar, np.nan).astype(np.float32))  # as robust_scale
        w = ok & (ar <= 3 * np.maximum(np.nan_to_num(s), 1e-9)[:, None])
        den = np.where(w, dt2, 0.0).sum(1)
        k = np.divide(np.where(w, dydt, 0.0).sum(1), den, out=np.zeros_like(k), where=den > 0)
    return k


def detect_steps(
    y: np.ndarray,
    temp: np.ndarray | None = None,
    *,
    window: int = 6,
    min_db: float = 0.3,
    k_sigma: float = 6.0,
    scan_from: np.ndarray | None = None,
) -> pl.DataFrame:
    """Steps per lane: li (lane index), hour_idx (first hour after), prev_hour_idx (last before), size_db.

    ``window`` counts readings, not hours: each lane is scanned over its own hours that have a
    reading, so a device polled every 6 h is judged on as many readings as one polled every minute.
    ``scan_from`` (per lane, an index into its readings) scans only the readings from there on, and
    reports only boundaries ``3 x window`` readings past it (where the medians, the local maximum, the
    first-of-a-run rule and the placement have their whole context), except on lanes scanned from
    their first reading; the thermal coefficient and the noise still come from every reading.
    """
    if y.shape[0] > LANE_CHUNK:  # lane by lane independent: in chunks, for memory
        found = [
            detect_steps(
                y[sl],
                None if temp is None else temp[sl],
                window=window,
                min_db=min_db,
                k_sigma=k_sigma,
                scan_from=None if scan_from is None else scan_from[sl],
            ).with_columns(pl.col("li") + sl.start)
            for sl in lane_chunks(y.shape[0])
        ]
        return pl.concat(found)
    n_lanes = y.shape[0]
    # each lane's readings first, in time order; order[li, k] is the hour of its k-th reading
    order = np.argsort(~np.isfinite(y), axis=1, kind="stable")
    yk = np.take_along_axis(y, order, axis=1)
    if temp is not None:
        tk = np.take_along_axis(temp, order, axis=1)
        k = thermal_from_differences(yk, tk)
        with _quiet():
            tm = np.nanmean(tk, axis=1, keepdims=True)
        yk = yk - np.where(np.isfinite(tk), k[:, None] * (tk - tm), 0.0)
    n_lane = np.isfinite(yk).sum(axis=1)
    n_read = int(n_lane.max()) if n_lanes else 0
    yk = yk[:, :n_read]
    # a boundary needs half a window of readings on each side (``enough`` below), so a lane with
    # ``window`` readings can already show a step in its middle: the threshold grows for the shorter
    # medians, which is what keeps a young lane from false steps, not a blanket wait
    if n_read < window:
        return _empty()
    with _quiet():
        d1 = np.diff(yk, axis=1)
        noise = 1.4826 * nanmedian_last(np.abs(d1 - nanmedian_last(d1)[:, None])) / np.sqrt(2)
    noise = np.nan_to_num(noise, nan=0.0)
    off = np.zeros(n_lanes, dtype=np.int64)
    if scan_from is not None:  # the readings from scan_from on, per lane, left-aligned
        off = np.clip(np.asarray(scan_from, dtype=np.int64), 0, n_lane)
        width = int((n_lane - off).max()) if n_lanes else 0
        if width < window:
            return _empty()
        at = off[:, None] + np.arange(width)[None, :]
        yk = np.where(
            at < n_lane[:, None], np.take_along_axis(yk, np.minimum(at, n_read - 1), axis=1), np.nan
        )
        n_read = width
    pad = np.full((n_lanes, window), np.nan)
    yp = np.concatenate([pad, yk, pad], axis=1)
    med, cnt = sliding_nanmedian(yp, window)  # [:, j] over padded j..j+window-1
    # boundary before reading i: before = readings i-w..i-1, after = readings i..i+w-1
    before, after = med[:, 0:n_read], med[:, window : window + n_read]
    enough = (cnt[:, 0:n_read] >= window // 2) & (cnt[:, window : window + n_read] >= window // 2)
    diff = np.where(enough, after - before, 0.0)
    # a median of n values has about 1.25 sigma/sqrt(n) spread; the difference of two medians of nb and
    # na readings sqrt(1/nb + 1/na) sigma x 1.25 (= sqrt(2/w) with full windows)
    nb = np.maximum(cnt[:, 0:n_read], 1)
    na = np.maximum(cnt[:, window : window + n_read], 1)
    thr = np.maximum(min_db, k_sigma * noise[:, None] * 1.25 * np.sqrt(1.0 / nb + 1.0 / na))
    mag = np.abs(diff)
    local = sliding_window_view(np.pad(mag, ((0, 0), (window, window))), 2 * window + 1, axis=1).max(axis=2)
    is_peak = (mag >= thr) & (mag >= local) & (mag > 0)
    li, ki = np.nonzero(is_peak)
    if li.size == 0:
        return _empty()
    frame = pl.DataFrame({"li": li.astype(np.int64), "k": ki.astype(np.int64)})
    # equal plateaus of the median difference make several adjacent peaks: keep the first of each run
    frame = frame.sort("li", "k").filter(
        (pl.col("k") - pl.col("k").shift(1).over("li")).fill_null(window + 1) > window
    )
    if scan_from is not None:  # only where the scan had the whole context
        guard = np.where(off > 0, 3 * window, 0)
        frame = frame.filter(pl.col("k") >= pl.Series(guard[frame["li"].to_numpy()]))
        if frame.height == 0:
            return _empty()
    # then place each step where a two-level (mean) fit of the surrounding readings has the least
    # error, all candidate split points at once from cumulative sums
    lis, kis = frame["li"].to_numpy(), frame["k"].to_numpy()
    best_k, sizes = np.empty_like(kis), np.empty(kis.size)
    for j, (lane, kk) in enumerate(zip(lis, kis, strict=True)):
        lo, hi_ = max(0, kk - 2 * window), min(n_read, kk + 2 * window)
        seg = yk[lane, lo:hi_]
        seg = seg[np.isfinite(seg)]
        m = seg.size
        c1, c2 = np.cumsum(seg), np.cumsum(seg * seg)
        split = np.arange(2, m - 1)  # left part seg[:split], right part seg[split:]
        if split.size == 0:
            best_k[j], sizes[j] = kk, float(diff[lane, kk])
            continue
        sl, sl2 = c1[split - 1], c2[split - 1]
        sr, sr2 = c1[-1] - sl, c2[-1] - sl2
        cost = (sl2 - sl * sl / split) + (sr2 - sr * sr / (m - split))
        kb = int(split[np.argmin(cost)])
        best_k[j] = lo + kb  # the first reading after the change
        sizes[j] = float(np.median(seg[kb:]) - np.median(seg[:kb]))
    best_k = best_k + off[lis]  # the lane's reading index
    return pl.DataFrame(
        {
            "li": lis,
            "hour_idx": order[lis, best_k],
            "prev_hour_idx": order[lis, np.maximum(best_k - 1, 0)],
            "size_db": sizes,
        }
    )


def _empty() -> pl.DataFrame:
    return pl.DataFrame(
        schema={"li": pl.Int64, "hour_idx": pl.Int64, "prev_hour_idx": pl.Int64, "size_db": pl.Float64}
    )


def attribute_steps(
    steps: pl.DataFrame, spec: LinkSpec, hours: np.ndarray, *, tolerance_h: float = 3.0
) -> pl.DataFrame:
    """Join steps to the nearest recorded event on the same link's points within ``tolerance_h``
    of the interval between the readings around the step.

    Adds link, device, port, lane, direction, step_ts, point, family, termination, event kind,
    event ts and ``explained``. ``hours`` is the epoch-hour grid the hour indexes refer to.
    """
    lanes = spec.lanes.with_row_index("li").with_columns(pl.col("li").cast(pl.Int64))
    # hours looked up before the join, which need not keep the row order
    steps = steps.with_columns(
        pl.Series("step_hour", hours[steps["hour_idx"].to_numpy()], dtype=pl.Int64),
        pl.Series("prev_hour", hours[steps["prev_hour_idx"].to_numpy()], dtype=pl.Int64),
    )
    s = steps.join(lanes.select("li", "link", "device", "port", "lane", "direction"), on="li")
    s = s.with_columns(
        pl.from_epoch(pl.col("step_hour") * 3600, time_unit="s").dt.replace_time_zone("UTC").alias("step_ts")
    )
    ev = spec.events.join(spec.points, on="point").with_columns(
        (pl.col("ts").dt.epoch("s") / 3600.0).alias("ev_hour")
    )
    cand = (
        s.with_row_index("sid")
        .join(
            ev.select(
                "link", "point", "family", "termination", "kind", pl.col("ts").alias("event_ts"), "ev_hour"
            ),
            on="link",
            how="left",
        )
        .with_columns(
            # the event lies between the last reading before the step and the first after it; with
            # sparse polling that interval is hours long, so the gap is measured to the interval
            pl.max_horizontal(
                pl.col("prev_hour") - pl.col("ev_hour"), pl.col("ev_hour") - pl.col("step_hour"), 0.0
            ).alias("gap_h"),
            (pl.col("ev_hour") - pl.col("step_hour")).abs().alias("dist_h"),
        )
    )
    # ties (events at the same time on several points) go to the first point by name: the same
    # answer on every run and whichever lanes are analyzed together (analyzer shards)
    near = (
        cand.filter(pl.col("gap_h") <= tolerance_h)
        .sort("gap_h", "dist_h", "point", "kind", nulls_last=True)
        .group_by("sid")
        .first()
    )
    out = (
        s.with_row_index("sid")
        .join(near.select("sid", "point", "family", "termination", "kind", "event_ts"), on="sid", how="left")
        .with_columns(pl.col("point").is_not_null().alias("explained"), (-pl.col("size_db")).alias("loss_db"))
        .drop("sid")
    )
    return out.with_columns(pl.col("kind").alias("event_kind")).drop("kind")


SCAN_BACK = 7
"""Windows of readings before the first new one a :class:`StepLog` update scans again: a boundary's
medians reach a window back, its local maximum another, the first-of-a-run rule another and its
placement two; one more for slack."""


class StepLog:
    """Steps found so far, by lane and absolute hour, with the detector run over a recent window only.

    Each pass hands over the window (the last hours, chronological; e.g. the ring of
    :class:`analyzer.trend.BoundedTrend`); :func:`detect_steps` runs on it and a step is new unless the
    lane has one within ``tolerance_h`` hours already. Steps whose boundary lies within ``2 x window``
    readings of the window's start are left out (their "before" median is cut short; they were judged
    with their full context in an earlier pass); a step seen again takes the latest pass's placement
    and size (more readings after it). The noise and thermal estimates come from the window:
    the cost of a pass is that of the window, whatever the history.
    """

    def __init__(self, *, tolerance_h: int = 6, **detect: float | int) -> None:
        self.tolerance_h = tolerance_h
        self.detect = detect
        self.steps = _empty().rename({"hour_idx": "hour", "prev_hour_idx": "prev_hour"})
        self.first_hour: int | None = None  # the first hour ever handed over: no cut context there

    def update(
        self, hours: np.ndarray, y: np.ndarray, temp: np.ndarray | None = None, *, new_from: int | None = None
    ) -> pl.DataFrame:
        """Detect over the window (``hours``: absolute hour of each column of ``y``); returns the new
        steps (li, hour, prev_hour, size_db) and adds them to :attr:`steps`.

        ``new_from``: the hours before it were in the last update unchanged, so only boundaries whose
        context reaches past it are scanned again (each lane from ``SCAN_BACK`` x ``window`` readings
        before its first new one); a step further back keeps the placement and size it had."""
        if hours.size and self.first_hour is None:
            self.first_hour = int(hours[0])
        window = int(self.detect.get("window", 6))
        scan_from = None
        if new_from is not None:
            n_old = np.isfinite(y[:, hours < new_from]).sum(axis=1)
            scan_from = np.maximum(n_old - SCAN_BACK * window, 0)
        found = detect_steps(y, temp, scan_from=scan_from, **self.detect)  # type: ignore[arg-type]
        if found.height == 0:
            return self.steps.clear()
        # the reading index of each boundary within its lane: past the history's start, ignore the
        # first 2 x window readings of the window
        li, hi = found["li"].to_numpy(), found["hour_idx"].to_numpy()
        seen = np.cumsum(np.isfinite(y[li]), axis=1)  # the found steps' lanes only
        k = seen[np.arange(li.size), hi]
        keep = (k > 2 * window) | (int(hours[0]) <= (self.first_hour or 0))
        found = found.filter(pl.Series(keep)).select(
            "li",
            pl.Series("hour", hours[found["hour_idx"].to_numpy()][keep], dtype=pl.Int64),
            pl.Series("prev_hour", hours[found["prev_hour_idx"].to_numpy()][keep], dtype=pl.Int64),
            "size_db",
        )
        # a step seen again: its placement and size from the latest pass (more readings after it)
        pairs = (
            found.join(self.steps.select("li", pl.col("hour").alias("known")), on="li", how="inner")
            .filter((pl.col("hour") - pl.col("known")).abs() <= self.tolerance_h)
            .unique(subset=["li", "known"], keep="last", maintain_order=True)
        )
        refreshed = self.steps.join(
            pairs.select("li", "known", pl.col("hour").alias("h2"), "prev_hour", "size_db").rename(
                {"prev_hour": "p2", "size_db": "s2"}
            ),
            left_on=["li", "hour"],
            right_on=["li", "known"],
            how="left",
        ).select(
            "li",
            pl.coalesce("h2", "hour").alias("hour"),
            pl.coalesce("p2", "prev_hour").alias("prev_hour"),
            pl.coalesce("s2", "size_db").alias("size_db"),
        )
        new = found.join(pairs.select("li", "hour"), on=["li", "hour"], how="anti").sort("li", "hour")
        self.steps = pl.concat([refreshed, new]).sort("li", "hour")
        return new
