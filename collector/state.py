"""What discovery learned about one device: the state the layout decoders read and write.

Port names and aliases (from the ifindex discovery tables), per sensor table the sensor -> (port,
lane, metric) mapping and the rows seen, module identities and swaps, the port admin/oper state and
a varbind count. The poller's :class:`collector.poller.DeviceState` extends it with the profile and
the uptime bookkeeping; decoders see only this part, so they do not import the poller.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl


@dataclass
class DiscoveryState:
    """What a device's earlier polls taught us (everything a layout decoder needs)."""

    name: str
    ports: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema={"ifindex": pl.Int64, "port": pl.String})
    )
    aliases: dict[str, str] = field(default_factory=dict)  # ifAlias/ifName -> ifName
    sensors: dict[str, pl.DataFrame] = field(
        default_factory=dict
    )  # per entity table: idx -> port, lane, metric
    port_state: pl.DataFrame = field(default_factory=pl.DataFrame)
    # every sensor row (idx) discovery saw, per entity table: a polled row outside it is new hardware
    sensor_rows: dict[str, pl.Series] = field(default_factory=dict)
    # walk type/scale/precision with every DOM poll (as snmp_exporter does) instead of caching them
    # from discovery; for comparisons, and for agents known to rescale sensors on the fly
    walk_metadata: bool = False
    varbinds: int = 0
    transceivers: dict[str, tuple[str, str, str]] = field(
        default_factory=dict
    )  # port -> vendor, model, serial
    transceivers_seen: set[str] = field(default_factory=set)  # ports noted in the current discovery
    swaps: list[tuple[str, str, str]] = field(default_factory=list)  # (port, old serial, new serial)
    sys_descr: str | None = None  # the agent's sysDescr (release switches between tables)
    # per module table: (mkey, lane, port) — which port a module index (and lane) is; and every
    # module index discovery saw (a polled index outside it is new hardware)
    modules: dict[str, pl.DataFrame] = field(default_factory=dict)
    module_rows: dict[str, pl.Series] = field(default_factory=dict)
    # tag every decoded sample with its table (``_table``) — for ``poll --explain``, not polls
    tag_tables: bool = False
    # broken-out sub-ports (port, module, rank, n) under the profile's breakout rule
    breakouts: pl.DataFrame = field(default_factory=pl.DataFrame)

    def note_transceiver(self, port: str, vendor: str, model: str, serial: str) -> None:
        """Keep a port's module identity; a different serial than last discovery is a module swap."""
        self.transceivers_seen.add(port)
        old = self.transceivers.get(port)
        if old is not None and old[2] != serial:
            self.swaps.append((port, old[2], serial))
        self.transceivers[port] = (vendor, model, serial)
