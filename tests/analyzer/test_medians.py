"""The analyzer's fast medians against numpy's: the same answers, bit for bit, on data with gaps."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from analyzer.trend import nanquantile_last, sliding_nanmedian


def _data(seed: int, lanes: int = 300, hours: int = 60) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.normal(-3.0, 1.0, (lanes, hours)).round(1)  # ties, as 0.1 dB DOM readings have
    a[rng.random(a.shape) < 0.2] = np.nan
    a[rng.integers(0, lanes, 20), :] = np.nan  # lanes without a reading
    a[rng.integers(0, lanes, 5), rng.integers(0, hours, 5)] = -np.inf  # a dark receiver
    return a


@pytest.mark.parametrize("q", [0.05, 0.25, 0.5, 0.9])
def test_nanquantile_last_is_numpys(q: float) -> None:
    a = _data(1)
    a[np.isinf(a)] = np.nan  # numpy's nanquantile counts inf as a value, ours only finite ones
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        want = np.nanquantile(a, q, axis=1)
    np.testing.assert_allclose(nanquantile_last(a, q), want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("window", [1, 2, 3, 5, 6, 7])
def test_sliding_nanmedian_is_the_sorted_windows_median(window: int) -> None:
    a = _data(window)
    want = nanquantile_last(sliding_window_view(a, window, axis=1), 0.5)
    count = np.isfinite(sliding_window_view(a, window, axis=1)).sum(axis=2)
    got, n = sliding_nanmedian(a, window)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)  # NaN where a window has no finite reading
    np.testing.assert_array_equal(n, count)


def test_sliding_nanmedian_of_a_window_longer_than_the_row_is_empty() -> None:
    got, n = sliding_nanmedian(np.ones((4, 3)), 5)
    assert got.shape == (4, 0) and n.shape == (4, 0)
