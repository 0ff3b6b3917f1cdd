"""Ingestion that trusts no clock but its own and no payload: future/old/non-finite rows, late batches,
restarted producers, forged devices — each refused or merged, and counted."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from analyzer.analysis import analyze
from analyzer.consumer import BatchConsumer, SeqDedupe
from analyzer.state import LaneState
from linkmargin.samples import conform
from linkmargin.wire import SampleBatch, encode_batch, samples_topic

from . import scenario
from .helpers import T0, one_link_spec, samples

NOW = T0 + timedelta(days=scenario.DAYS)  # the simulated clock: just after the scenario's last hour


def _one(ts: datetime, device: str = "leaf2", value: float = -6.0) -> pl.DataFrame:
    return conform(
        pl.DataFrame(
            {
                "ts": [ts],
                "device": [device],
                "port": ["Ethernet1"],
                "lane": [1],
                "metric": ["rx_power_dbm"],
                "value": [value],
            }
        )
    )


def _fed(clock: bool) -> tuple[LaneState, pl.DataFrame]:
    spec, frame = scenario.build()
    st = LaneState(spec, clock=(lambda: NOW) if clock else None)
    for off in range(0, frame.height, frame.height // 24 + 1):
        st.ingest(frame.slice(off, frame.height // 24 + 1))
    return st, frame


def _p_optic(st: LaneState) -> tuple[float, float]:
    fc = analyze(st, horizons={"21d": 21.0}, now=NOW).forecasts["21d"].filter(pl.col("link") == "L-optic")
    return float(fc["p_cross"][0]), float(fc["days_to_cross"][0])


def test_one_sample_ten_years_ahead_changes_nothing_and_is_counted() -> None:
    st, _ = _fed(clock=True)
    p0, days0 = _p_optic(st)
    hours0 = st.hourly().height
    assert p0 > 0.8  # the dying optic is flagged before the forgery (its DOM margin known to 1.1 dB)
    consumer = BatchConsumer(st, max_delay=0.0)
    future = NOW + timedelta(days=3650)
    consumer.offer(encode_batch(SampleBatch("leaf2", 1, _one(future), producer="bad-clock")))
    consumer.flush()
    assert consumer.stats.by_producer["bad-clock"]["future"] == 1
    assert consumer.stats.rejected_samples["future"] == 1
    assert st.hourly().height == hours0
    assert st.latest["ts"].max() < NOW + timedelta(minutes=5)
    assert _p_optic(st) == (p0, days0)


def test_without_a_clock_the_same_sample_is_what_wiped_the_trend() -> None:
    """The replay mode trusts the data's own time: shows the reproduction (and that it can fail)."""
    st, _ = _fed(clock=False)
    p0, _ = _p_optic(st)
    hours0 = st.hourly().height
    st.ingest(_one(NOW + timedelta(days=3650)))
    assert st.hourly().height < hours0 / 10  # the window moved 10 years: the trend is gone
    assert p0 > 0.8 and _p_optic(st)[0] < 0.5


def test_skew_window_and_non_finite_rows() -> None:
    st = LaneState(one_link_spec(lanes=1), clock=lambda: T0 + timedelta(hours=100), history_hours=48)
    now = T0 + timedelta(hours=100)
    frame = pl.concat(
        [
            _one(now + timedelta(seconds=299), "dev-b"),  # within the skew: kept
            _one(now + timedelta(seconds=301), "dev-b"),  # future
            _one(now - timedelta(hours=49), "dev-b"),  # before the window
            _one(now, "dev-b", float("-inf")),
            _one(now, "dev-b", float("nan")),
            _one(now, "dev-b", float("inf")),
            _one(now, "forged-device"),
        ]
    )
    kept, refused = st.admit(frame)
    assert kept.height == 2 and refused == {"future": 1, "too_old": 1, "non_finite": 3}
    st.ingest(frame)
    assert dict(st.rejected) == {"future": 1, "too_old": 1, "non_finite": 3, "unknown_device": 1}
    lat = st.latest
    assert lat.height == 1 and lat["value"].to_list() == [-6.0]


def test_a_late_batch_merges_into_its_hours_and_never_overwrites_newer_readings() -> None:
    clock = [T0 + timedelta(hours=10, minutes=30)]
    st = LaneState(one_link_spec(lanes=1), clock=lambda: clock[0])
    row = {"device": "dev-b", "port": "p1", "lane": 1, "metric": "rx_power_dbm"}
    st.ingest(samples([{**row, "t": h + 0.5, "value": -3.0} for h in range(0, 11, 2)]))  # even hours
    assert st.hourly().height == 6
    st.ingest(samples([{**row, "t": h + 0.2, "value": -5.0} for h in range(0, 11)]))  # late, all hours
    h = st.hourly().sort("hour")
    assert h["hour"].n_unique() == h.height == 11  # one row per hour: merged, not appended
    assert h.filter(pl.col("hour") % 2 == 0)["n"].to_list() == [2] * 6
    assert h.filter(pl.col("hour") == h["hour"][0])["mean"].to_list() == [-4.0]
    # the newest reading (10:30, -3) stays the latest though the late batch ended later in arrival
    assert st.latest["value"].to_list() == [-3.0]


def _batch(seq: int, *, producer: str = "c1", epoch: int = 0, device: str = "dev-b") -> bytes:
    return encode_batch(SampleBatch(device, seq, _one(T0, device), producer=producer, epoch=epoch))


def test_a_restarted_producer_is_not_a_duplicate() -> None:
    consumer = BatchConsumer(LaneState(one_link_spec(lanes=1)), max_delay=0.0)
    for seq in range(1, 201):
        consumer.offer(_batch(seq, epoch=1000))
    consumer.offer(_batch(150, epoch=1000))  # QoS 1 redelivery
    for seq in range(1, 51):  # the same collector id restarted: seq 1 again, a new epoch
        consumer.offer(_batch(seq, epoch=2000))
    assert consumer.batches == 250 and consumer.duplicates == 1
    consumer.offer(_batch(7, epoch=1000))  # a late redelivery of the first incarnation
    assert consumer.duplicates == 2


def test_dedupe_window_is_bounded_and_handles_gaps_and_pre_epoch_restarts() -> None:
    d = SeqDedupe(seq_window=64)
    assert d.check("p", 5, "x", 10) is None
    assert d.check("p", 5, "x", 1000) is None  # a gap (outbox dropped some)
    assert d.check("p", 5, "x", 990) is None  # out of order within the window: new
    assert d.check("p", 5, "x", 990) == "duplicate"
    assert d.check("p", 5, "x", 10) == "stale_seq"  # far behind, same epoch: a replay
    assert d.check("p", 0, "x", 5000) is None
    assert d.check("p", 0, "x", 1) is None  # no epoch, far behind: the producer restarted
    assert d.check("p", 0, "x", 1) == "duplicate"


def test_streams_are_bounded_in_number_and_pruned_when_idle() -> None:
    t = [0.0]
    d = SeqDedupe(max_streams=1000, stream_ttl_s=60.0, monotonic=lambda: t[0])
    for i in range(100_000):
        d.check("forger", 0, f"fake-{i}", 1)
    assert len(d) == 1000
    assert d.check("forger", 0, "fake-99999", 1) == "duplicate"  # the recent ones are still known
    t[0] = 61.0
    d.check("c1", 0, "dev-b", 1)
    assert len(d) == 1


def test_a_hundred_thousand_forged_device_names_do_not_grow_the_state() -> None:
    st = LaneState(one_link_spec(lanes=1))
    n = 100_000
    forged = conform(
        pl.DataFrame(
            {
                "ts": [T0] * n,
                "device": [f"fake-{i}" for i in range(n)],
                "port": ["p1"] * n,
                "lane": [1] * n,
                "metric": ["rx_power_dbm"] * n,
                "value": [-3.0] * n,
            }
        )
    )
    st.ingest(forged)
    assert st.rejected["unknown_device"] == n
    assert st.latest.height == 0 and st.hourly().height == 0


@pytest.mark.parametrize(
    ("topic_device", "row_device", "reason"),
    [("dev-a", "dev-b", "device_mismatch"), ("dev-b", "dev-a", "device_mismatch")],
)
def test_topic_envelope_and_rows_must_name_the_same_device(
    topic_device: str, row_device: str, reason: str
) -> None:
    consumer = BatchConsumer(LaneState(one_link_spec(lanes=1)), max_delay=0.0)
    payload = encode_batch(SampleBatch("dev-b", 1, _one(T0, row_device)))
    consumer.offer(payload, samples_topic(topic_device))
    assert consumer.stats.rejected_batches[reason] == 1 and consumer.batches == 0
    assert consumer.state.samples_seen == 0
    consumer.offer(encode_batch(SampleBatch("dev-b", 2, _one(T0, "dev-b"))), samples_topic("dev-b"))
    assert consumer.batches == 1


def test_the_consumer_survives_a_state_that_raises_and_counts_it() -> None:
    class Broken(LaneState):
        def ingest(self, batch: pl.DataFrame) -> None:
            raise RuntimeError("boom")

    consumer = BatchConsumer(Broken(one_link_spec(lanes=1)), max_delay=0.0)
    consumer.offer(_batch(1))
    consumer.offer(_batch(2))
    assert consumer.batches == 2 and consumer.stats.rejected_samples["ingest_error"] == 2
