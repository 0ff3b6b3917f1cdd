"""hypothesis fuzzing of the wire decoder and the consumer: no exception but WireError leaves
``decode_batch``, and ``BatchConsumer.offer`` never raises, whatever the bytes or the envelope."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.consumer import BatchConsumer
from analyzer.state import LaneState
from linkmargin.samples import conform
from linkmargin.wire import SampleBatch, WireError, decode_batch, encode_batch
from tests.analyzer.helpers import one_link_spec

_VALID = encode_batch(
    SampleBatch(
        "dev-b",
        1,
        conform(
            pl.DataFrame(
                {
                    "ts": [datetime(2026, 1, 1, tzinfo=UTC)] * 2,
                    "device": ["dev-b"] * 2,
                    "port": ["p1", "p1"],
                    "lane": [1, 2],
                    "metric": ["rx_power_dbm", "fec_corrected_cw"],
                    "value": [-3.0, 5.0],
                    "counter": [None, 5],
                }
            )
        ),
        producer="c1",
        epoch=7,
    )
)
_CONSUMER = BatchConsumer(LaneState(one_link_spec(lanes=2)), max_delay=0.0)
_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decodes_or_wire_error(payload: bytes) -> None:
    try:
        batch = decode_batch(payload)
    except WireError as exc:
        assert exc.reason in {"decode", "version", "schema", "device_mismatch"}
        return
    assert (batch.frame["device"] == batch.device).all()


@_FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes(payload: bytes) -> None:
    _decodes_or_wire_error(payload)
    _CONSUMER.offer(payload, "linkmargin/v1/samples/dev-b")


@_FUZZ
@given(st.lists(st.tuples(st.integers(0, len(_VALID) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_valid_batch_with_bytes_flipped(flips: list[tuple[int, int]]) -> None:
    payload = bytearray(_VALID)
    for at, byte in flips:
        payload[at] = byte
    _decodes_or_wire_error(bytes(payload))
    _CONSUMER.offer(bytes(payload))


@_FUZZ
@given(st.integers(0, len(_VALID)))
def test_valid_batch_truncated(n: int) -> None:
    _decodes_or_wire_error(_VALID[:n])
    _CONSUMER.offer(_VALID[:n])


_META_KEYS = st.sampled_from(
    [b"linkmargin.v", b"linkmargin.device", b"linkmargin.seq", b"linkmargin.producer", b"linkmargin.epoch"]
)
_META_VALUES = st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b"1", b"2", b"-1", b"1e400", b"nan", b"dev-b", b"a/b", b"#", b"", b"9" * 30]),
)


@_FUZZ
@given(
    st.dictionaries(_META_KEYS, _META_VALUES, max_size=5),
    st.sampled_from(["keep", "no_device", "bad_metric", "strings"]),
)
def test_forged_envelopes_and_columns(meta: dict[bytes, bytes], columns: str) -> None:
    table = ipc.open_stream(pa.BufferReader(_VALID)).read_all()
    if columns == "no_device":
        table = table.drop_columns(["device"])
    elif columns == "bad_metric":
        table = table.set_column(4, "metric", pa.array(["nope", "rx_power_dbm"]))
    elif columns == "strings":
        table = table.set_column(5, "value", pa.array(["x", "-inf"]))
    table = table.replace_schema_metadata({b"linkmargin.v": b"1", **meta})
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    payload = sink.getvalue().to_pybytes()
    _decodes_or_wire_error(payload)
    _CONSUMER.offer(payload)
