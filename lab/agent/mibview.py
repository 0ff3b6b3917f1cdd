"""MibView: one device's immutable, sorted OID table with every varbind pre-encoded.

A response is then mostly a slice of pre-encoded varbind bytes joined together; GETNEXT and
GETBULK start points come from a bisect over the sorted OID tuples, and a prefix sum of the
varbind sizes lets GETBULK find how many fit in the response in O(log n).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping
from itertools import accumulate, pairwise
from operator import itemgetter

from lab.agent import ber
from lab.agent.values import END_OF_MIB_VIEW, NO_SUCH_INSTANCE, NO_SUCH_OBJECT, Oid, SnmpValue


def encode_varbind(oid: Oid, value_tlv: bytes) -> bytes:
    """SEQUENCE { name OID, value } from an OID and an already-encoded value TLV."""
    return ber.tlv(ber.SEQUENCE, ber.enc_oid(oid) + value_tlv)


class MibView:
    """Immutable sorted OID -> value table for one device, answering GET/GETNEXT/GETBULK lookups."""

    __slots__ = ("_cum", "_oid_tlvs", "_oids", "_values", "_vbs")

    def __init__(self, entries: Iterable[tuple[Oid, SnmpValue]] | Mapping[Oid, SnmpValue]) -> None:
        """Build from (oid, value) pairs in any order; duplicate OIDs are an error."""
        items = entries.items() if isinstance(entries, Mapping) else entries
        pairs = sorted(((tuple(o), v) for o, v in items), key=itemgetter(0))
        oids = [o for o, _ in pairs]
        for a, b in pairwise(oids):
            if a == b:
                raise ValueError(f"duplicate OID {a}")
        self._oids: list[Oid] = oids
        self._values: list[SnmpValue] = [v for _, v in pairs]
        # OID TLVs are kept so updated() re-encodes only values (the physics changes values, not OIDs).
        self._oid_tlvs: list[bytes] = [ber.enc_oid(o) for o in oids]
        seq = ber.SEQUENCE
        self._vbs: list[bytes] = [
            ber.tlv(seq, ot + v.encode()) for ot, v in zip(self._oid_tlvs, self._values, strict=True)
        ]
        self._cum: list[int] = list(accumulate(map(len, self._vbs), initial=0))

    @classmethod
    def _from_parts(
        cls, oids: list[Oid], oid_tlvs: list[bytes], values: list[SnmpValue], vbs: list[bytes]
    ) -> MibView:
        self = cls.__new__(cls)
        self._oids, self._oid_tlvs, self._values, self._vbs = oids, oid_tlvs, values, vbs
        self._cum = list(accumulate(map(len, vbs), initial=0))
        return self

    def updated(self, changes: Iterable[tuple[Oid, SnmpValue]] | Mapping[Oid, SnmpValue]) -> MibView:
        """A new view with some values replaced (or added); cheap when the OID set is unchanged."""
        items = list(changes.items() if isinstance(changes, Mapping) else changes)
        values = list(self._values)
        vbs = list(self._vbs)
        added: list[tuple[Oid, SnmpValue]] = []
        for oid, value in items:
            oid = tuple(oid)
            i = bisect_left(self._oids, oid)
            if i < len(self._oids) and self._oids[i] == oid:
                values[i] = value
                vbs[i] = ber.tlv(ber.SEQUENCE, self._oid_tlvs[i] + value.encode())
            else:
                added.append((oid, value))
        if added:
            merged = dict(zip(self._oids, values, strict=True))
            merged.update(added)
            return MibView(merged)
        return MibView._from_parts(self._oids, self._oid_tlvs, values, vbs)

    def index(self, oid: Oid) -> int:
        """Position of ``oid`` in the view (for :meth:`replaced`); KeyError when absent."""
        i = bisect_left(self._oids, oid)
        if i < len(self._oids) and self._oids[i] == oid:
            return i
        raise KeyError(oid)

    def replaced(self, changes: Iterable[tuple[int, SnmpValue]]) -> MibView:
        """A new view with the values at some positions (from :meth:`index`) replaced; the OIDs stay.

        Equal values share one encoding (a switch's sensors carry the same sysUpTime stamp)."""
        values = list(self._values)
        vbs = list(self._vbs)
        encoded: dict[SnmpValue, bytes] = {}
        seq, oid_tlvs = ber.SEQUENCE, self._oid_tlvs
        for i, value in changes:
            enc = encoded.get(value)
            if enc is None:
                enc = encoded[value] = value.encode()
            values[i] = value
            vbs[i] = ber.tlv(seq, oid_tlvs[i] + enc)
        return MibView._from_parts(self._oids, oid_tlvs, values, vbs)

    def __len__(self) -> int:
        return len(self._oids)

    def __iter__(self) -> Iterator[tuple[Oid, SnmpValue]]:
        return zip(self._oids, self._values, strict=True)

    def get(self, oid: Oid) -> SnmpValue | None:
        """The value at exactly oid, or None."""
        i = bisect_left(self._oids, oid)
        if i < len(self._oids) and self._oids[i] == oid:
            return self._values[i]
        return None

    # --- wire-level lookups used by the server -------------------------------------------------

    def get_vb(self, oid: Oid, oid_tlv: bytes) -> bytes:
        """Encoded varbind for GET: the value, or noSuchInstance / noSuchObject."""
        oids = self._oids
        i = bisect_left(oids, oid)
        if i < len(oids) and oids[i] == oid:
            return self._vbs[i]
        # noSuchInstance when the object (the OID minus its last arc) has instances here, as for
        # a scalar asked with .1 instead of .0 or a missing table row; else noSuchObject.
        parent = oid[:-1]
        n = len(parent)
        near = [oids[j] for j in (i - 1, i) if 0 <= j < len(oids)]
        exc = NO_SUCH_INSTANCE if any(o[:n] == parent and len(o) > n for o in near) else NO_SUCH_OBJECT
        return ber.tlv(ber.SEQUENCE, oid_tlv + exc)

    def next_index(self, oid: Oid) -> int:
        """Index of the first entry strictly after oid (== len(self) when past the end)."""
        return bisect_right(self._oids, oid)

    def vb_at(self, i: int) -> bytes:
        """Pre-encoded varbind at index i."""
        return self._vbs[i]

    def oid_at(self, i: int) -> Oid:
        """OID at index i."""
        return self._oids[i]

    def oid_tlv_at(self, i: int) -> bytes:
        """Encoded OID TLV at index i."""
        return self._oid_tlvs[i]

    def next_vb(self, oid: Oid, oid_tlv: bytes) -> bytes:
        """Encoded varbind for GETNEXT: the next entry, or endOfMibView on the asked OID."""
        i = bisect_right(self._oids, oid)
        if i < len(self._vbs):
            return self._vbs[i]
        return ber.tlv(ber.SEQUENCE, oid_tlv + END_OF_MIB_VIEW)

    def run(self, start: int, count: int, budget: int) -> tuple[bytes, int]:
        """Up to count consecutive varbinds from index start within budget bytes; (bytes, n taken)."""
        stop = min(start + count, len(self._vbs))
        cum = self._cum
        if cum[stop] - cum[start] > budget:
            stop = bisect_right(cum, cum[start] + budget, start, stop + 1) - 1
        return b"".join(self._vbs[start:stop]), stop - start
