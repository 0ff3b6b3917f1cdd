"""``poll --explain``: for one device, which profile matched and why, and per table what decoded.

Each group is polled as the collector polls it (discovery once, counters first so the port state is
known), with every sample tagged with the table it came from, and each table's samples counted:
readings decoded, absent by reason, and failed (decode errors). Not a hot path: it is what a user
runs when a device reads less than expected.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from collector.poller import DeviceState, discover, poll_tables, read_uptime
from collector.transport import Target, open_transport
from linkmargin.samples import Reason

__all__ = ["Explanation", "TableCount", "explain"]


@dataclass(frozen=True, slots=True)
class TableCount:
    """What one table of the profile yielded in one poll."""

    table: str
    layout: str
    group: str
    decoded: int  # samples with a value
    absent: dict[str, int]  # samples without one, by reason (decode errors apart)
    failed: int  # samples the agent's answer could not be decoded for (reason decode_error)


@dataclass(frozen=True, slots=True)
class Explanation:
    """The profile a device got, why, and what each of its tables yielded."""

    device: str
    sys_object_id: str | None
    sys_descr: str | None
    profile: str
    why: str
    generic: bool
    tables: list[TableCount] = field(default_factory=list)
    not_polled: list[str] = field(default_factory=list)  # tables a release switch leaves out


async def explain(
    target: Target, profile: str = "auto", groups: list[str] | None = None, transport: str = "gufo"
) -> Explanation:
    """Discover ``target``, then poll each table of ``groups`` alone and count its samples."""
    wanted = groups or ["counters", "dom"]
    order = sorted(wanted, key=lambda g: g != "counters")  # the port state first
    state = DeviceState(name=target.name)
    counts: list[TableCount] = []
    async with open_transport(target, transport) as tr:
        await read_uptime(tr, state)
        await discover(tr, state, profile)
        assert state.profile is not None and state.selection is not None
        for group in order:
            tables = state.profile.tables_in(group, state.sys_descr)
            up = await read_uptime(tr, state)
            state.tag_tables = False  # a real poll first: it keeps the port state for the DOM rules
            await poll_tables(tr, state, tables, group, datetime.now(UTC), up, profile)
            state.tag_tables = True  # then the same poll with every sample tagged with its table
            f = await poll_tables(tr, state, tables, group, datetime.now(UTC), up, profile)
            state.tag_tables = False
            f = f.filter(pl.col("port").is_not_null())
            for t in tables:
                mine = f.filter(pl.col("_table") == t.name)
                reasons = Counter(r for r in mine.get_column("reason").to_list() if r is not None)
                failed = reasons.pop(Reason.DECODE_ERROR.value, 0)
                decoded = mine.filter(pl.col("value").is_not_null()).height
                counts.append(
                    TableCount(t.name, t.layout, group, decoded, dict(sorted(reasons.items())), failed)
                )
    skipped = [t.name for t in state.profile.tables if t.group in wanted and not t.applies(state.sys_descr)]
    sel = state.selection
    return Explanation(
        device=target.name,
        sys_object_id=state.sys_object_id,
        sys_descr=state.sys_descr,
        profile=sel.profile.name,
        why=sel.why,
        generic=sel.generic,
        tables=counts,
        not_polled=skipped,
    )
