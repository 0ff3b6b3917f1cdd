"""Wire format of the bus: versioned, self-describing payloads for sample batches and events.

Sample batches travel as an Arrow IPC stream whose schema metadata carries the envelope
(payload version, device, per-device sequence number, producer id and producer epoch). Events travel
as JSON with a ``v`` field.

:func:`decode_batch` is the trust boundary of the bus: whatever the bytes, it returns a batch whose
envelope passed :class:`Envelope` and whose rows all name the envelope's device, or raises
:class:`WireError` with a ``reason`` a consumer counts by (``decode``, ``version``, ``schema``,
``device_mismatch``); no other exception leaves it.

The same bytes go over MQTT and through the in-process bus, so both paths are tested by the same
code.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from linkmargin.samples import SCHEMA_VERSION, conform
from linkmargin.topics import MAX_NAME_CHARS, topic_safe  # re-exported: the rule lives in topics

TOPIC_PREFIX: Final = "linkmargin/v1"
SAMPLES_TOPIC: Final = TOPIC_PREFIX + "/samples/{device}"
EVENTS_TOPIC: Final = TOPIC_PREFIX + "/events/{severity}"
SAMPLES_WILDCARD: Final = TOPIC_PREFIX + "/samples/+"
EVENTS_WILDCARD: Final = TOPIC_PREFIX + "/events/+"
COHORT_STATS_TOPIC: Final = TOPIC_PREFIX + "/cohort-stats/{index}-of-{of}"  # one retained per analyzer shard
COHORT_STATS_WILDCARD: Final = TOPIC_PREFIX + "/cohort-stats/+"
QOS: Final = 1

_META_VERSION = b"linkmargin.v"
_META_DEVICE = b"linkmargin.device"
_META_SEQ = b"linkmargin.seq"
_META_PRODUCER = b"linkmargin.producer"
_META_EPOCH = b"linkmargin.epoch"

# Arrow type each sample column is read as (enums as strings: conform() checks their values)
_PLAIN_TYPES: Final[dict[str, pa.DataType]] = {
    "ts": pa.timestamp("us", tz="UTC"),
    "device": pa.large_string(),
    "port": pa.large_string(),
    "lane": pa.int8(),
    "metric": pa.large_string(),
    "value": pa.float64(),
    "counter": pa.uint64(),
    "counter_bits": pa.uint8(),
    "uptime_cs": pa.int64(),
    "aggregate": pa.bool_(),
    "reason": pa.large_string(),
}

WireReason = Literal["decode", "version", "schema", "device_mismatch"]


class WireError(ValueError):
    """A payload that is not a valid linkmargin message of a version we read; ``reason`` classifies it."""

    def __init__(self, message: str, reason: WireReason = "decode") -> None:
        super().__init__(message)
        self.reason: WireReason = reason


class Envelope(BaseModel):
    """The batch envelope as it arrives in the Arrow schema metadata (bytes decoded as UTF-8).

    ``epoch`` is the producer's start time (µs since 1970); a producer restarted under the same id
    starts its ``seq`` again, and the new epoch tells a consumer it is not a redelivery. Producers
    from before epochs send none (0).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    v: int
    device: str
    seq: int = Field(ge=0, lt=2**63)
    producer: str = Field(default="", max_length=MAX_NAME_CHARS)
    epoch: int = Field(default=0, ge=0, lt=2**63)

    @field_validator("device")
    @classmethod
    def _device_is_a_topic_level(cls, v: str) -> str:
        if not topic_safe(v):
            raise ValueError(f"device name {v[:80]!r} cannot be an MQTT topic level")
        return v


@dataclass(frozen=True, slots=True)
class SampleBatch:
    """One device's samples from one poll, with the sequence number that lets consumers dedupe."""

    device: str
    seq: int
    frame: pl.DataFrame
    producer: str = "collector"
    epoch: int = 0  # producer start time, µs since 1970 (0: a producer from before epochs)

    @property
    def topic(self) -> str:
        """MQTT topic the batch is published on."""
        return samples_topic(self.device)


def samples_topic(device: str) -> str:
    """Topic of a device's sample batches; MQTT wildcards and separators are not allowed in names."""
    if not topic_safe(device):
        raise WireError(f"device name {device!r} cannot be used in an MQTT topic")
    return SAMPLES_TOPIC.format(device=device)


def cohort_stats_topic(index: int, of: int) -> str:
    """Topic of analyzer shard ``index`` of ``of``'s cohort statistics (retained)."""
    return COHORT_STATS_TOPIC.format(index=index, of=of)


def encode_batch(batch: SampleBatch) -> bytes:
    """Serialize a batch to Arrow IPC bytes with the envelope in the schema metadata."""
    table = conform(batch.frame).to_arrow()
    meta = {
        _META_VERSION: str(SCHEMA_VERSION).encode(),
        _META_DEVICE: batch.device.encode(),
        _META_SEQ: str(batch.seq).encode(),
        _META_PRODUCER: batch.producer.encode(),
        _META_EPOCH: str(batch.epoch).encode(),
    }
    table = table.replace_schema_metadata(meta)
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def decode_batch(payload: bytes) -> SampleBatch:
    """Parse bytes from :func:`encode_batch`; on anything else raises :class:`WireError`, nothing else."""
    try:
        reader = ipc.open_stream(pa.BufferReader(payload))
        table = reader.read_all()
        # Arrow's IPC reader checks structure only; forged offsets or lengths in a buffer pass it and
        # crash the process on first use (a segfault, found by fuzzing). Full validation first.
        table.validate(full=True)
    except (pa.ArrowException, OSError, ValueError, TypeError, IndexError, OverflowError) as exc:
        raise WireError(f"not an Arrow IPC sample batch: {exc}", "decode") from exc
    env = _envelope(table.schema.metadata or {})
    try:
        frame = conform(pl.from_arrow(_plain_columns(table)))  # type: ignore[arg-type]
    except (
        ValueError,
        TypeError,
        KeyError,
        OverflowError,
        pa.ArrowException,
        pl.exceptions.PolarsError,
    ) as exc:
        raise WireError(f"malformed sample batch: {exc}", "schema") from exc
    if frame.height and not (frame["device"] == env.device).all():
        others = frame.filter(pl.col("device").ne_missing(env.device))["device"].unique().head(3).to_list()
        raise WireError(f"batch of {env.device!r} carries rows of {others}", "device_mismatch")
    return SampleBatch(device=env.device, seq=env.seq, frame=frame, producer=env.producer, epoch=env.epoch)


def _plain_columns(table: pa.Table) -> pa.Table:
    """The sample columns of ``table`` as plain Arrow types, without any schema or field metadata.

    Nothing but the values reaches polars: a forged field metadata (polars reads its enum
    categories from there) could otherwise panic inside it, which no ``except Exception`` catches.
    """
    cols = {}
    for name in table.column_names:
        want = _PLAIN_TYPES.get(name)
        if want is None:
            continue
        col = table.column(name)
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        cols[name] = col.cast(want)
    return pa.table(cols)


def _envelope(meta: dict[bytes, bytes]) -> Envelope:
    """The envelope from Arrow schema metadata; WireError ``version`` or ``schema`` when it is not one."""
    version = meta.get(_META_VERSION)
    if version is None:
        raise WireError("sample batch without a linkmargin version", "version")
    if version.strip() != str(SCHEMA_VERSION).encode():
        raise WireError(f"sample batch version {version[:20]!r} is not {SCHEMA_VERSION}", "version")
    keys = {"v": _META_VERSION, "device": _META_DEVICE, "seq": _META_SEQ}
    keys |= {"producer": _META_PRODUCER, "epoch": _META_EPOCH}
    try:
        return Envelope.model_validate({k: meta[key].decode() for k, key in keys.items() if key in meta})
    except (UnicodeDecodeError, ValidationError) as exc:
        raise WireError(f"malformed sample batch envelope: {exc}", "schema") from exc


@dataclass(frozen=True, slots=True)
class Event:
    """A change the analyzer reports (risk state of a link, a step attributed to a point ...)."""

    kind: str
    severity: str  # "critical" | "warning" | "info"
    subject: str  # link id, or device/port
    summary: str
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def topic(self) -> str:
        """MQTT topic the event is published on."""
        return EVENTS_TOPIC.format(severity=self.severity)


def encode_event(event: Event) -> bytes:
    """Serialize an event to versioned JSON."""
    doc = {
        "v": SCHEMA_VERSION,
        "kind": event.kind,
        "severity": event.severity,
        "subject": event.subject,
        "summary": event.summary,
        "at": event.at.astimezone(UTC).isoformat(),
        "data": event.data,
    }
    return json.dumps(doc, separators=(",", ":"), default=str).encode()


def decode_event(payload: bytes) -> Event:
    """Parse bytes from :func:`encode_event`; raises :class:`WireError` on anything else."""
    try:
        doc = json.loads(payload)
        if doc.get("v") != SCHEMA_VERSION:
            raise WireError(f"event version {doc.get('v')!r} is not {SCHEMA_VERSION}")
        return Event(
            kind=doc["kind"],
            severity=doc["severity"],
            subject=doc["subject"],
            summary=doc["summary"],
            at=datetime.fromisoformat(doc["at"]),
            data=dict(doc.get("data") or {}),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        if isinstance(exc, WireError):
            raise
        raise WireError(f"malformed event: {exc}") from exc
