"""History queries recover known margins per cohort and a known degradation slope."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from analyzer import queries
from analyzer.spec import LinkSpec
from linkmargin.samples import conform

T0 = datetime(2026, 9, 1, tzinfo=UTC)
SENS = -6.0


def _spec() -> LinkSpec:
    lanes = [
        {"link": link, "device": dev, "port": "Ethernet1", "lane": lane, "direction": "a->b",
         "far_device": "x", "far_port": "y", "sensitivity_dbm": SENS, "fec_limit_ber": 2.4e-4,
         "lane_rate_bps": 53.125e9, "expected_loss_db": 1.0}
        for link, dev in (("factory-link", "leaf1"), ("field-link", "leaf2"))
        for lane in (1, 2)
    ]  # fmt: skip
    points = [
        {"link": "factory-link", "point": "p1", "position": 0, "family": "MTP", "termination": "factory"},
        {"link": "field-link", "point": "p2", "position": 0, "family": "MMC-field", "termination": "field"},
    ]
    return LinkSpec.build(lanes, points)


def _history(root: Path, days: int = 40) -> None:
    rows = []
    rng = np.random.default_rng(1)
    for h in range(days * 24):
        ts = T0 + timedelta(hours=h)
        thermal = 0.2 * np.sin(2 * np.pi * h / 24)  # daily swing the medians must ignore
        for lane in (1, 2):
            rows.append(("leaf1", lane, ts, -2.0 + thermal + rng.normal(0, 0.02)))  # margin 4 dB, flat
            # field link: margin 1.5 dB at day 0, falling 0.05 dB/day
            rows.append(("leaf2", lane, ts, SENS + 1.5 - 0.05 * h / 24 + thermal + rng.normal(0, 0.02)))
    f = pl.DataFrame(rows, schema=["device", "lane", "ts", "value"], orient="row").with_columns(
        port=pl.lit("Ethernet1"), metric=pl.lit("rx_power_dbm")
    )
    # the modules' temperature behind the swing (0.02 dB/°C): the trend fits it out
    temp = pl.DataFrame(
        [
            (dev, T0 + timedelta(hours=h), 40.0 + 10.0 * np.sin(2 * np.pi * h / 24))
            for h in range(days * 24)
            for dev in ("leaf1", "leaf2")
        ],
        schema=["device", "ts", "value"],
        orient="row",
    ).with_columns(port=pl.lit("Ethernet1"), metric=pl.lit("temperature_c"))
    f = pl.concat([f, temp], how="diagonal")
    (root / "date=all").mkdir(parents=True)
    conform(f).write_parquet(root / "date=all" / "part-0.parquet")


def test_margin_by_cohort_and_trending(tmp_path: Path) -> None:
    _history(tmp_path, days=25)
    hist, spec = queries.scan_history(tmp_path), _spec()
    by = queries.margin_by_cohort(hist, spec, every="1mo")
    sept = by.filter(pl.col("period") == datetime(2026, 9, 1, tzinfo=UTC))
    mtp = sept.filter(pl.col("family") == "MTP").row(0, named=True)
    assert mtp["median_margin_db"] == pytest.approx(4.0, abs=0.05)
    assert mtp["lanes"] == 2 and mtp["links"] == 1
    mmc = sept.filter(pl.col("termination") == "field").row(0, named=True)
    assert mmc["median_margin_db"] == pytest.approx(1.5 - 0.05 * 12.5, abs=0.1)  # median of days 0-24

    tr = queries.trending(hist, spec, within_days=30).lanes
    assert set(tr["link"]) == {"field-link"}  # the flat factory link is not trending
    assert tr["status"].to_list() == ["heading to zero"] * 2
    assert tr["slope_db_per_day"].to_list() == pytest.approx([-0.05, -0.05], abs=0.003)
    # the fitted margin at the last hour: 1.5 - 0.05 * 599 / 24 = 0.25 dB, so 5 days to zero
    assert tr["margin_now_db"].to_list() == pytest.approx([0.25, 0.25], abs=0.05)
    assert tr["days_to_zero"].to_list() == pytest.approx([5.0, 5.0], abs=1.0)
    empty = queries.trending(hist, spec, within_days=3)
    assert empty.lanes.is_empty() and empty.note is not None and "within 3 days" in empty.note


def test_sql_over_margins(tmp_path: Path) -> None:
    _history(tmp_path, days=5)
    out = queries.sql(
        queries.scan_history(tmp_path),
        _spec(),
        "SELECT link, count(*) AS n FROM margins GROUP BY link ORDER BY link",
    )
    assert out.to_dicts() == [{"link": "factory-link", "n": 240}, {"link": "field-link", "n": 240}]


def test_cli_reports_a_missing_history(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "linkmargin_cli", "query", "cohorts", "--history", str(tmp_path),
         "--inventory", "configs/inventory.example.yaml"],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert out.returncode == 2
    assert "no Parquet files" in out.stderr and "Traceback" not in out.stderr


def _stepped_history(root: Path, hours: int) -> None:
    """leaf1: flat 2 dB margin with a 1.5 dB loss step at a mating half way (no drift at all);
    leaf2: already 0.5 dB below zero, flat. Both with their module temperature."""
    rng = np.random.default_rng(3)
    rows = []
    for h in range(hours):
        ts = T0 + timedelta(hours=h)
        temp = 40.0 + 10.0 * np.sin(2 * np.pi * h / 24)
        for lane in (1, 2):
            step = 1.5 if h >= hours // 2 else 0.0
            rows.append(("leaf1", lane, "rx_power_dbm", ts, SENS + 2.0 - step + rng.normal(0, 0.02)))
            rows.append(("leaf2", lane, "rx_power_dbm", ts, SENS - 0.5 + rng.normal(0, 0.02)))
        rows += [("leaf1", None, "temperature_c", ts, temp), ("leaf2", None, "temperature_c", ts, temp)]
    f = pl.DataFrame(rows, schema=["device", "lane", "metric", "ts", "value"], orient="row")
    (root / "date=all").mkdir(parents=True)
    conform(f.with_columns(port=pl.lit("Ethernet1"))).write_parquet(root / "date=all" / "part-0.parquet")


def test_trending_fits_around_a_mating_step_and_separates_lanes_below_zero(tmp_path: Path) -> None:
    _stepped_history(tmp_path, hours=6 * 24)
    tr = queries.trending(queries.scan_history(tmp_path), _spec(), within_days=30)
    # a straight line through the step would say -0.3 dB/day and 0.5 dB left: "zero in 2 days";
    # with the step as a regressor, leaf1 is flat at 0.5 dB and not heading anywhere
    assert "factory-link" not in set(tr.lanes["link"])
    below = tr.lanes.filter(pl.col("status") == "below zero")
    assert set(below["link"]) == {"field-link"} and below.height == 2
    assert below["days_to_zero"].to_list() == [0.0, 0.0]  # never a negative number of days
    assert below["margin_now_db"].to_list() == pytest.approx([-0.5, -0.5], abs=0.05)
    assert tr.note is None and tr.fitted == 4


def test_trending_says_why_it_is_empty(tmp_path: Path) -> None:
    _stepped_history(tmp_path, hours=10)
    tr = queries.trending(queries.scan_history(tmp_path), _spec(), within_days=30)
    assert tr.lanes.is_empty()
    assert tr.note == "a trend needs 12 hours of readings per lane; the history spans 10 hours"
    inv = tmp_path / "inv.yaml"
    inv.write_text("site: s\nlinks: []\n")
    out = subprocess.run(
        [sys.executable, "-m", "linkmargin_cli", "query", "trending", "--history", str(tmp_path),
         "--inventory", str(inv), "--format", "json"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0 and out.stdout.strip() == "[]"
    assert "no Rx power readings" in out.stderr  # the inventory knows none of these lanes


@pytest.mark.parametrize("wide", [False, True])
def test_sorted_medians_equal_polars_group_by_median(wide: bool) -> None:
    rng = np.random.default_rng(7)
    n = 5000
    li = rng.integers(0, 40, n).astype(np.uint32)
    hour = rng.integers(490_000, 490_030, n)
    if wide:  # lane x hour x rank needs more than 64 bits: polars' group-by takes over
        li = li + np.uint32(2**32 - 41)
        hour = hour + rng.integers(0, 2**26, n)
    value = np.round(rng.normal(0.0, 1.0, n), 1)  # ties within groups
    got = queries._medians(li, hour, value).sort("li", "hour")
    want = (
        pl.DataFrame({"li": li, "hour": hour, "margin_db": value})
        .group_by("li", "hour")
        .agg(pl.col("margin_db").median())
        .sort("li", "hour")
    )
    assert got.height == want.height > 100 and got.equals(want)
    assert (got.group_by("li", "hour").len()["len"] == 1).all()


def test_hourly_is_the_same_however_the_history_is_cut(tmp_path: Path) -> None:
    """leaf1 moves from group 01 to group 02 at 06:00 but its 06:00-11:00 readings are in both: the
    two partitions are aggregated as one; leaf2's partition (and the next day) stay on their own."""
    _history(tmp_path / "one", days=2)
    frame = pl.read_parquet(tmp_path / "one" / "date=all" / "part-0.parquet")
    hour = (frame["ts"] - T0).dt.total_hours()
    day1 = (frame["ts"].dt.date() == T0.date()).to_numpy()
    leaf1 = (frame["device"] == "leaf1").to_numpy()
    cut = tmp_path / "cut"
    parts = {
        "date=2026-09-01/group=01": day1 & leaf1 & (hour < 12).to_numpy(),
        "date=2026-09-01/group=02": day1 & leaf1 & (hour >= 6).to_numpy(),
        "date=2026-09-01/group=03": day1 & ~leaf1,
        "date=2026-09-02/group=01": ~day1,
    }
    for key, mask in parts.items():
        (cut / key).mkdir(parents=True)
        frame.filter(pl.Series(mask)).write_parquet(cut / key / "part-L1-0.parquet")
    spec = _spec()
    one = queries.hourly(queries.scan_history(tmp_path / "one"), spec)
    split = queries.scan_partitions(cut)
    assert len(split) == 4
    got = queries.hourly(split, spec)
    # the reference: polars' own group-by over the readings as they are (06-11 h of leaf1 twice)
    both = pl.concat([frame.filter(pl.Series(m)) for m in parts.values()])
    want = (
        both.filter(pl.col("metric") == "rx_power_dbm")
        .group_by("device", "port", "lane", (pl.col("ts").dt.epoch("s") // 3600).alias("hour"))
        .agg((pl.col("value") - SENS).median().alias("margin_db"))
    )
    keys = ["device", "port", "lane", "hour"]
    assert got.rx.select(*keys, "margin_db").sort(keys).equals(want.sort(keys).select(*keys, "margin_db"))
    assert got.rx.height == 2 * 24 * 4 and one.rx.height == got.rx.height
    temp_keys = ["device", "port", "hour"]
    assert got.temp.sort(temp_keys).equals(one.temp.sort(temp_keys))
    assert got.temp.height == 2 * 24 * 2
    done = [
        queries._hourly_part(p, queries._keyed_lanes(spec)[0], spec.lanes["device"].to_numpy()) for p in split
    ]
    assert queries._overlapping(done) == [[0, 1], [2], [3]]


@pytest.mark.parametrize("decimals", [2, 6])
def test_cohort_order_statistics_equal_polars_own(tmp_path: Path, decimals: int) -> None:
    """The two-pass binned median and 5th percentile are polars' median and nearest-rank quantile,
    with many readings tied (DOM readings come in steps of 0.01 dB) and without."""
    rng = np.random.default_rng(11)
    n = 60_000
    devices = rng.choice(["leaf1", "leaf2"], n)
    frame = conform(
        pl.DataFrame(
            {
                "ts": [T0 + timedelta(minutes=int(m)) for m in rng.integers(0, 20 * 24 * 60, n)],
                "device": devices,
                "port": "Ethernet1",
                "lane": rng.integers(1, 3, n),
                "metric": "rx_power_dbm",
                "value": np.round(SENS + rng.normal(2.0, 1.5, n) + (devices == "leaf2") * 0.7, decimals),
            }
        )
    )
    (tmp_path / "date=all").mkdir()
    frame.write_parquet(tmp_path / "date=all" / "part-0.parquet")
    got = queries.margin_by_cohort(queries.scan_history(tmp_path), _spec(), every="1w")
    margin = pl.col("value") - SENS
    want = (
        frame.with_columns(
            pl.col("ts").dt.truncate("1w").alias("period"),
            pl.when(pl.col("device") == "leaf1")
            .then(pl.lit("MTP"))
            .otherwise(pl.lit("MMC-field"))
            .alias("family"),
        )
        .group_by("period", "family")
        .agg(margin.median().alias("median_margin_db"), margin.quantile(0.05).alias("p5_margin_db"))
        .sort("period", "family")
    )
    assert got.height == want.height == 6
    assert got.select(want.columns).sort("period", "family").equals(want)
    assert got["lanes"].to_list() == [2] * 6 and got["links"].to_list() == [1] * 6
