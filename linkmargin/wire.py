"""Wire format of the bus: versioned, self-describing payloads for sample batches and events.

Sample batches travel as an Arrow IPC stream whose schema metadata carries the envelope
(payload version, device, per-device sequence number, producer id). Events travel as JSON with a
``v`` field. The same bytes go over MQTT and through the in-process bus, so both paths are tested
by the same code.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc

from linkmargin.samples import SCHEMA_VERSION, conform

TOPIC_PREFIX: Final = "linkmargin/v1"
SAMPLES_TOPIC: Final = TOPIC_PREFIX + "/samples/{device}"
EVENTS_TOPIC: Final = TOPIC_PREFIX + "/events/{severity}"
SAMPLES_WILDCARD: Final = TOPIC_PREFIX + "/samples/+"
EVENTS_WILDCARD: Final = TOPIC_PREFIX + "/events/+"
QOS: Final = 1

_META_VERSION = b"linkmargin.v"
_META_DEVICE = b"linkmargin.device"
_META_SEQ = b"linkmargin.seq"
_META_PRODUCER = b"linkmargin.producer"


class WireError(ValueError):
    """A payload that is not a valid linkmargin message of a version we read."""


@dataclass(frozen=True, slots=True)
class SampleBatch:
    """One device's samples from one poll, with the sequence number that lets consumers dedupe."""

    device: str
    seq: int
    frame: pl.DataFrame
    producer: str = "collector"

    @property
    def topic(self) -> str:
        """MQTT topic the batch is published on."""
        return samples_topic(self.device)


def samples_topic(device: str) -> str:
    """Topic of a device's sample batches; MQTT wildcards and separators are not allowed in names."""
    if any(c in device for c in "/+#") or not device:
        raise WireError(f"device name {device!r} cannot be used in an MQTT topic")
    return SAMPLES_TOPIC.format(device=device)


def encode_batch(batch: SampleBatch) -> bytes:
    """Serialize a batch to Arrow IPC bytes with the envelope in the schema metadata."""
    table = conform(batch.frame).to_arrow()
    meta = {
        _META_VERSION: str(SCHEMA_VERSION).encode(),
        _META_DEVICE: batch.device.encode(),
        _META_SEQ: str(batch.seq).encode(),
        _META_PRODUCER: batch.producer.encode(),
    }
    table = table.replace_schema_metadata(meta)
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def decode_batch(payload: bytes) -> SampleBatch:
    """Parse bytes from :func:`encode_batch`; raises :class:`WireError` on anything else."""
    try:
        reader = ipc.open_stream(pa.BufferReader(payload))
        table = reader.read_all()
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as exc:
        raise WireError(f"not an Arrow IPC sample batch: {exc}") from exc
    meta = table.schema.metadata or {}
    version = meta.get(_META_VERSION)
    if version is None:
        raise WireError("sample batch without a linkmargin version")
    if int(version) != SCHEMA_VERSION:
        raise WireError(f"sample batch version {int(version)} is not {SCHEMA_VERSION}")
    try:
        frame = conform(pl.from_arrow(table.replace_schema_metadata(None)))  # type: ignore[arg-type]
        return SampleBatch(
            device=meta[_META_DEVICE].decode(),
            seq=int(meta[_META_SEQ]),
            frame=frame,
            producer=meta.get(_META_PRODUCER, b"").decode(),
        )
    except (KeyError, ValueError, pl.exceptions.PolarsError) as exc:
        raise WireError(f"malformed sample batch: {exc}") from exc


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
