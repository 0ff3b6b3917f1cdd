"""gNMI notifications to matched rows: the only per-update Python step of the gNMI path.

One :class:`UpdateSink` per device: each update's path is made canonical and matched against the
profile's leaf patterns (a dict hit after the first interval), its value decoded
(:mod:`collector.gnmi.values`), and appended as a row to the pending columns of the leaf's poll group.
ON_CHANGE leaves (oper and admin status) are also kept as the latest state and repeated in every
counters batch, as an SNMP poll would read them. The component-to-interface mapping and the boot time
update the device's state instead of becoming samples. Nothing here raises on device input.
"""

from __future__ import annotations

import time
from collections import Counter

import polars as pl

from collector.gnmi.normalize import ROW_SCHEMA, LeafTable
from collector.gnmi.paths import PathMatcher, path_string
from collector.gnmi.profile import GnmiProfileDocument
from collector.gnmi.values import typed_leaves
from linkmargin.gnmi import gnmi_pb2

GROUPS = ("dom", "counters", "discovery")
Row = tuple[
    int, int, str | None, str | None, int | None, str | None, float | None, int | None, str | None, str | None
]
# a timestamp further than this from our clock is the device's clock gone wrong: use receive time
MAX_SKEW_NS = 24 * 3600 * 10**9


class UpdateSink:
    """Collects one device's updates into pending rows per poll group."""

    def __init__(self, doc: GnmiProfileDocument) -> None:
        self.doc = doc
        self.table = LeafTable.of(doc)
        self.matcher = PathMatcher([lf.path for lf in doc.leaves])
        self.roles = [lf.role for lf in doc.leaves]
        self.group = self.table.group_of()
        self.on_change = {
            i for i, lf in enumerate(doc.leaves) if lf.metric in ("oper_status", "admin_status")
        }
        self.pending: dict[str, list[Row]] = {g: [] for g in GROUPS}
        self.state: dict[str, Row] = {}
        self.port_map: dict[str, str] = {}
        self.boot_ns: int | None = None
        self.rejects: Counter[str] = Counter()
        self.updates = 0

    def add(self, n: gnmi_pb2.Notification, recv_ns: int | None = None) -> None:
        """Take one notification's updates (deletes are ignored: absence is not a reading)."""
        now = recv_ns if recv_ns is not None else time.time_ns()
        ts = n.timestamp if abs(n.timestamp - now) < MAX_SKEW_NS else now
        prefix = n.prefix if n.HasField("prefix") else None
        for u in n.update:
            self.updates += 1
            if not u.HasField("val"):
                self.rejects["no_value"] += 1
                continue
            for below, sc in typed_leaves(u.val):
                path = path_string(prefix, u.path, below)
                m = self.matcher.match(path)
                if m is None:
                    self.rejects["unknown_path"] += 1
                    continue
                role = self.roles[m.leaf]
                if role == "port_map":
                    if sc.text and m.port:
                        self.port_map[sc.text] = m.port
                    else:
                        self.rejects["bad_port_map"] += 1
                    continue
                if role == "boot_time":
                    if sc.counter is not None and sc.counter < 2**63:
                        self.boot_ns = sc.counter
                    else:
                        self.rejects["bad_boot_time"] += 1
                    continue
                row: Row = (
                    ts,
                    m.leaf,
                    m.port,
                    m.component,
                    m.lane,
                    m.severity,
                    sc.value,
                    sc.counter,
                    sc.text,
                    sc.problem,
                )
                self.pending[self.group[m.leaf]].append(row)
                if m.leaf in self.on_change:
                    self.state[path] = row

    def take(self, group: str) -> pl.DataFrame:
        """The group's pending rows as a frame (cleared); the counters batch repeats the latest state."""
        rows, self.pending[group] = self.pending[group], []
        if group == "counters" and self.state:
            latest = {(r[1], r[2]) for r in rows}
            rows = [r for r in self.state.values() if (r[1], r[2]) not in latest] + rows
        return pl.DataFrame(rows, schema=ROW_SCHEMA, orient="row")
