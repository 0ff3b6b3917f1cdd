"""Sharded analyzers: links split by rendezvous hash, every row kept once, cohorts merged from the
shards' statistics equal to one analyzer's on the same data (analyzer.sharding, analyzer.fleetstats)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import polars as pl
import pytest

from analyzer.analysis import Analysis, analyze
from analyzer.cohorts import _pooled, cohort_stats, random_effects
from analyzer.consumer import BatchConsumer
from analyzer.fleetstats import StatsBoard, decode_stats, encode_stats, merge_stats
from analyzer.sharding import RowFilter, link_groups, shard_spec
from analyzer.spec import LinkSpec
from analyzer.state import LaneState
from linkmargin.shards import Shard
from linkmargin.wire import SampleBatch, encode_batch, samples_topic

from .fleet import Fleet, make_fleet


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return make_fleet(n_links=60, days=14)


@pytest.fixture(scope="module")
def single(fleet: Fleet) -> Analysis:
    st = LaneState(fleet.spec)
    st.ingest(fleet.samples)
    return analyze(st, horizons={"21d": 21.0})


def _trunked(fleet: Fleet) -> Fleet:
    """The fleet with links L2k and L2k+1 sharing one MTP trunk point (its events those of both)."""
    rename = {f"L{i:03d}-mtp": f"L{i - 1:03d}-mtp" for i in range(1, 60, 2)}
    spec = LinkSpec(
        fleet.spec.lanes,
        fleet.spec.points.with_columns(pl.col("point").replace(rename)),
        fleet.spec.events.with_columns(pl.col("point").replace(rename)),
    )
    return Fleet(spec, fleet.samples, fleet.drift, fleet.n_hours)


def test_links_sharing_a_point_stay_together(fleet: Fleet) -> None:
    trunked = _trunked(fleet)
    groups = link_groups(trunked.spec)
    assert groups["group"].n_unique() == 30
    for n in (2, 3, 5):
        for i in range(1, n + 1):
            links = set(shard_spec(trunked.spec, Shard(i, n)).lanes["link"].to_list())
            assert all((f"L{k:03d}" in links) == (f"L{k + 1:03d}" in links) for k in range(0, 60, 2))


def _assert_tables_equal(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a.columns == b.columns and a.height == b.height
    for c in a.columns:
        if a[c].dtype.is_numeric():
            x, y = a[c].cast(pl.Float64).to_numpy(), b[c].cast(pl.Float64).to_numpy()
            assert np.allclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True), (c, x, y)
        else:
            assert a[c].to_list() == b[c].to_list(), c


@pytest.mark.parametrize("n", [2, 3, 5])
def test_every_link_and_every_row_in_exactly_one_shard(fleet: Fleet, n: int) -> None:
    specs = [shard_spec(fleet.spec, Shard(i, n)) for i in range(1, n + 1)]
    links = [set(s.lanes["link"].to_list()) for s in specs]
    assert sum(len(x) for x in links) == fleet.spec.lanes["link"].n_unique()
    assert set().union(*links) == set(fleet.spec.lanes["link"].to_list())
    assert all(len(x) > 0 for x in links)  # 60 links: every shard gets some
    for s in specs:  # a shard's points and events are those of its links only
        assert set(s.points["link"].to_list()) <= set(s.lanes["link"].to_list())
        assert set(s.events["point"].to_list()) <= set(s.points["point"].to_list())
    kept = [RowFilter(s).keep(fleet.samples) for s in specs]
    assert sum(k.height for k, _ in kept) == fleet.samples.height
    assert all(k.height + dropped == fleet.samples.height for k, dropped in kept)
    both = pl.concat([k for k, _ in kept]).sort("ts", "device", "port", "lane", "metric")
    assert both.equals(fleet.samples.sort("ts", "device", "port", "lane", "metric"))


@pytest.mark.parametrize("trunks", [False, True])
def test_sharded_cohorts_equal_one_analyzers(fleet: Fleet, single: Analysis, trunks: bool) -> None:
    """Three shards exchange their statistics through the payloads they publish: same cohorts."""
    if trunks:  # links sharing trunk points: a mating there is one outcome seen on both links
        fleet = _trunked(fleet)
        st = LaneState(fleet.spec)
        st.ingest(fleet.samples)
        single = analyze(st, horizons={"21d": 21.0})
    n = 3
    shards = [Shard(i, n) for i in range(1, n + 1)]
    states = []
    for sh in shards:
        spec = shard_spec(fleet.spec, sh)
        st = LaneState(spec)
        st.ingest(RowFilter(spec).keep(fleet.samples)[0])
        states.append(st)
    first = [analyze(st, horizons={"21d": 21.0}) for st in states]  # alone: no peers yet
    payloads = [
        encode_stats(an.cohort_stats, sh, epoch=1, at=1000.0 + i)
        for i, (an, sh) in enumerate(zip(first, shards, strict=True))
        if an.cohort_stats is not None
    ]
    assert len(payloads) == n
    # alone, a shard's cohorts differ from the fleet's (it has only a third of the matings)
    mmc = pl.col("family") == "MMC"
    assert first[0].cohorts.table.filter(mmc)["matings"][0] < single.cohorts.table.filter(mmc)["matings"][0]
    for sh, st in zip(shards, states, strict=True):
        board = StatsBoard(sh, clock=lambda: 1010.0)
        for p in payloads:
            board.offer(p, "t")
        assert board.outcomes == {"accepted": n - 1, "own": 1}
        an = analyze(st, horizons={"21d": 21.0}, cohort_peers=board.peers())
        assert board.merged_shards == n
        _assert_tables_equal(an.cohorts.table, single.cohorts.table)
        # the wear curve (hazard by mating count) travels in the same payload
        assert an.wear.height and an.wear["matings"].sum() == single.wear["matings"].sum()
        _assert_tables_equal(an.wear, single.wear)
        # and so every lane's drift shrunk toward its cohort, and its forecast, are the single one's
        mine = an.lanes.select("device", "port", "lane", "drift_db_per_day")
        ref = single.lanes.join(mine.select("device", "port", "lane"), on=["device", "port", "lane"])
        _assert_tables_equal(
            mine.sort("device", "port", "lane"),
            ref.select(mine.columns).sort("device", "port", "lane"),
        )
    tbl = single.cohorts.table
    assert tbl.filter(mmc)["matings"][0] > 0 and np.isfinite(tbl.filter(mmc)["drift_db_per_day"][0])


def test_binned_random_effects_close_to_exact(fleet: Fleet) -> None:
    """Rounding each lane's se to 1/16 octave moves the pooled drift far less than its own se."""
    rng = np.random.default_rng(3)
    d = rng.normal(-0.02, 0.004, 400)
    se = np.exp(rng.uniform(np.log(1e-4), np.log(1e-2), 400))
    lanes = pl.DataFrame({"link": [f"L{i}" for i in range(400)]})
    spec = type(fleet.spec)(
        fleet.spec.lanes.head(0).vstack(
            fleet.spec.lanes.head(1)
            .select(pl.exclude("link"))
            .select(pl.all().repeat_by(400).explode())
            .with_columns(lanes["link"], pl.Series("lane", np.arange(400) % 100, pl.Int8))
            .select(fleet.spec.lanes.columns)
        ),
        fleet.spec.points.head(0),
        fleet.spec.events.head(0),
    )
    empty = pl.DataFrame(
        schema={
            "point": pl.String,
            "family": pl.String,
            "termination": pl.String,
            "stepped": pl.Boolean,
            "loss_db": pl.Float64,
        }
    )
    stats = cohort_stats(spec, empty, d, se, d, se)
    mu_b, se_b, tau2_b = _pooled(stats.filter(pl.col("part") == "drift"))
    mu, mu_se, tau2 = random_effects(d, se)
    assert abs(mu_b - mu) < 0.05 * mu_se
    assert se_b == pytest.approx(mu_se, rel=0.02)
    assert tau2_b == pytest.approx(tau2, rel=0.05)


def test_merge_sums_every_float_column_by_every_other_column() -> None:
    """Generic: a key or a statistic another estimator adds (here a mating-count bin) merges as is."""
    a = pl.DataFrame({"family": ["MMC", "MMC"], "count_bin": [1, 2], "n": [3.0, 1.0], "s1": [1.0, 0.0]})
    b = pl.DataFrame(
        {
            "family": ["MMC", "LC"],
            "count_bin": [2, 1],
            "n": [2.0, 5.0],
            "s1": [1.0, 2.0],
            "extra": [0.5, 0.25],
        }
    )
    m = merge_stats([a, None, b])
    assert m.columns == ["family", "count_bin", "n", "s1", "extra"]
    assert m.rows() == [("LC", 1, 5.0, 2.0, 0.25), ("MMC", 1, 3.0, 1.0, 0.0), ("MMC", 2, 3.0, 1.0, 0.5)]
    assert merge_stats([]).height == 0


def test_board_keeps_the_newest_fresh_stats_of_each_other_shard() -> None:
    now = [1000.0]
    board = StatsBoard(Shard(1, 2), max_age_s=60.0, clock=lambda: now[0])
    f = pl.DataFrame({"family": ["MMC"], "n": [1.0]})
    board.offer(encode_stats(f, Shard(2, 2), epoch=5, at=990.0))
    board.offer(encode_stats(f, Shard(2, 2), epoch=5, at=980.0))  # older than the one held
    board.offer(encode_stats(f, Shard(1, 2), epoch=4, at=995.0))  # our own, retained from before
    board.offer(encode_stats(f, Shard(2, 3), epoch=5, at=995.0))  # a fleet of three: not ours
    board.offer(encode_stats(f, Shard(2, 2), epoch=6, at=900.0))  # too old to count
    board.offer(b"")  # a retained message cleared
    board.offer(b"\x00garbage")
    assert board.outcomes == {
        "accepted": 1,
        "stale": 2,
        "own": 1,
        "other_fleet": 1,
        "cleared": 1,
        "decode": 1,
    }
    peers = board.peers()
    assert peers is not None and peers["n"].to_list() == [1.0] and board.merged_shards == 2
    newer = pl.DataFrame({"family": ["MMC"], "n": [7.0]})
    board.offer(encode_stats(newer, Shard(2, 2), epoch=6, at=999.0))  # shard 2 restarted: newer wins
    assert board.peers()["n"].to_list() == [7.0]  # type: ignore[index]
    now[0] = 1100.0  # shard 2 went quiet: its stats expire
    assert board.peers() is None and board.merged_shards == 1 and board.outcomes["expired"] == 1
    got = decode_stats(encode_stats(newer, Shard(2, 2), epoch=6, at=999.0))
    assert (got.meta.index, got.meta.of, got.meta.epoch, got.frame.rows()) == (2, 2, 6, [("MMC", 7.0)])


def test_consumer_keeps_only_its_shards_rows(fleet: Fleet) -> None:
    spec = shard_spec(fleet.spec, Shard(1, 2))
    st = LaneState(spec)
    consumer = BatchConsumer(st, max_rows=1, shard=RowFilter(spec))
    mine = spec.lanes["device"][0]
    theirs = next(d for d in fleet.spec.lanes["device"].unique() if d not in spec.lanes["device"].to_list())
    for seq, dev in enumerate((mine, theirs)):
        frame = fleet.samples.filter(pl.col("device") == dev).head(50)
        consumer.offer(encode_batch(SampleBatch(dev, seq, frame)), samples_topic(dev))
    assert consumer.batches == 1 and consumer.stats.rejected_batches == {"other_shard": 1}
    assert consumer.stats.samples == 50


@pytest.mark.parametrize(
    ("args", "first"),
    [
        (["--shard", "3/2"], "analyze: --shard: shard 3/2: the shard number must be 1..2"),
        (
            ["--shard", "two"],
            "analyze: --shard: shard 'two': expected i/N, e.g. 1/4 (the first of four collectors)",
        ),
        (["--shard", "1/2"], "analyze: --shard 1/2 needs --mqtt: the shards exchange cohort statistics"),
    ],
)
def test_cli_refuses_a_bad_shard_in_two_lines_at_most(args: list[str], first: str) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "linkmargin_cli", "analyze", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    assert lines[0] == first and len(lines) <= 2
