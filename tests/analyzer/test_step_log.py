"""Steps detected pass by pass over a recent window (:class:`analyzer.steps.StepLog`) against
:func:`detect_steps` over the whole history on the same samples: the same steps (lane and hour), and
sizes within 0.1 dB, 0.02 dB in the median (the thermal coefficient the sizes are corrected with
comes from the window, not the whole history); the same when each pass scans only the boundaries
its new hours reach (``new_from``)."""

from __future__ import annotations

import numpy as np
import pytest

from analyzer.steps import StepLog, detect_steps


def history(seed: int, n_lanes: int = 400, n_hours: int = 21 * 24):
    rng = np.random.default_rng(seed)
    h = np.arange(n_hours)
    temp = 40 + 3 * np.sin(2 * np.pi * h / 24)[None, :] + rng.normal(0, 0.5, (n_lanes, n_hours))
    y = -3 + 0.02 * (temp - 40) + rng.normal(0, 0.05, (n_lanes, n_hours))
    y[rng.random((n_lanes, n_hours)) < 0.05] = np.nan
    lanes = np.arange(0, n_lanes, 4)
    at = rng.integers(8, n_hours - 12, lanes.size)  # some in the first day: no window before them
    for li, hi, s in zip(lanes, at, rng.choice([-1.0, -0.6, 0.8], lanes.size), strict=True):
        y[li, hi:] += s
    return h, y, temp, lanes, at


@pytest.mark.parametrize(
    ("seed", "every", "scan_new"), [(7, 24, False), (8, 24, False), (7, 24, True), (8, 3, True)]
)
def test_window_by_window_finds_the_steps_of_the_whole_history(seed: int, every: int, scan_new: bool) -> None:
    h, y, temp, lanes, at = history(seed)
    full = detect_steps(y, temp)
    log, ring = StepLog(), 168
    prev = None
    for end in range(every, h.size + 1, every):  # a pass a day (or every 3 hours) over the last week
        lo = max(0, end - ring)
        new_from = None if prev is None or not scan_new else int(h[prev - 2])  # two hours handed over again
        log.update(h[lo:end], y[:, lo:end], temp[:, lo:end], new_from=new_from)
        prev = end
    got = log.steps.sort("li", "hour")
    want = full.sort("li", "hour_idx")
    assert got["li"].to_list() == want["li"].to_list()
    assert got["hour"].to_list() == want["hour_idx"].to_list()
    d = np.abs(got["size_db"].to_numpy() - want["size_db"].to_numpy())
    assert d.max() < 0.1 and np.median(d) < 0.02
    # and they are the steps that were made (a step next to a missing reading may land beside it)
    truth = dict(zip(lanes.tolist(), at.tolist(), strict=True))
    close = [abs(truth.get(li, -99) - hr) <= 2 for li, hr in got.select("li", "hour").iter_rows()]
    assert all(close) and len(close) >= 0.9 * lanes.size


def test_a_step_is_logged_once_however_many_passes_see_it() -> None:
    h, y, temp, _, _ = history(9, n_lanes=40)
    log = StepLog()
    counts = []
    for end in range(48, h.size + 1, 6):  # a pass every 6 hours over the last week
        lo = max(0, end - 168)
        new = log.update(h[lo:end], y[:, lo:end], temp[:, lo:end])
        counts.append(new.height)
    assert log.steps.select("li", "hour").is_unique().all()
    assert sum(counts) == log.steps.height
    assert log.steps.group_by("li").len()["len"].max() == 1  # one made per lane, one found
