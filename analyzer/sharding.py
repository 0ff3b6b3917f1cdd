"""Which links an analyzer shard analyzes (``analyze --shard i/N``), and the sample rows it keeps.

The unit of a shard is the **link**, by the same rendezvous hash as the collectors' devices
(:mod:`linkmargin.shards`, over the link id): a link's analysis reads both of its ends — each
direction's receiver, the far end's transmitter for laser aging, the link's margin as the worse
direction, one mating outcome per connection point from all its lanes — so both ends live on one
analyzer, and every lane's history stays on it across passes. Links that share a connection point
(a trunk) are hashed as one group, by their first link's id: a mating there is one outcome. A port
belongs to one link, so every sample row of a linked port is kept by exactly one shard. A shard
subscribes to every device's topic (any
broker, MQTT 3.1.1 included, persistent sessions as before) and drops, counted as ``other_shard``:
whole batches of devices with none of its ports (before decoding), and the rows of other shards'
ports. Docs: docs/DEPLOY.md "Sharded analyzers".
"""

from __future__ import annotations

import polars as pl

from analyzer.spec import LinkSpec
from linkmargin.shards import Shard, shard_of


def link_groups(spec: LinkSpec) -> pl.DataFrame:
    """(link, group): links that share a connection point (a trunk) are one group, named by its first
    link; a mating on a shared point is one outcome seen on all of them, so they go to one shard."""
    links = pl.concat([spec.lanes["link"], spec.points["link"]]).unique().sort().to_list()
    parent = {link: link for link in links}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    # startup only, one step per (point, link) row: union the links of each point
    for group in spec.points.group_by("point").agg(pl.col("link").unique())["link"].to_list():
        first = root(group[0])
        for other in group[1:]:
            r = root(other)
            if r != first:
                first, r = min(first, r), max(first, r)
                parent[r] = first
    return pl.DataFrame(
        {"link": links, "group": [root(x) for x in links]}, schema={"link": pl.String, "group": pl.String}
    )


def shard_spec(spec: LinkSpec, shard: Shard) -> LinkSpec:
    """The links of ``spec`` shard ``shard`` owns (by link group): their lanes, points and points' events."""
    if shard.of == 1:
        return spec
    groups = link_groups(spec)
    owner = {g: shard_of(g, shard.of) for g in groups["group"].unique().to_list()}
    mine = groups.filter(pl.col("group").replace_strict(owner, return_dtype=pl.Int64) == shard.index)["link"]
    points = spec.points.filter(pl.col("link").is_in(mine.implode()))
    return LinkSpec(
        spec.lanes.filter(pl.col("link").is_in(mine.implode())),
        points,
        spec.events.filter(pl.col("point").is_in(points["point"].implode())),
    )


class RowFilter:
    """Keeps the sample rows of one shard's ports (both ends of its links); counts the rest.

    A device-level row (no port) goes to every shard holding a port of that device.
    """

    def __init__(self, spec: LinkSpec) -> None:
        lanes = spec.lanes
        self.ports = (
            pl.concat(
                [
                    lanes.select("device", "port"),
                    lanes.select(pl.col("far_device").alias("device"), pl.col("far_port").alias("port")),
                ]
            )
            .drop_nulls()
            .unique()
            .with_columns(pl.lit(True).alias("_mine"))
        )
        self.devices = frozenset(self.ports["device"].to_list())

    def wants(self, device: str) -> bool:
        """Whether any row of ``device`` can be this shard's (else its batch is dropped undecoded)."""
        return device in self.devices

    def keep(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
        """The rows of this shard's ports (and device-level rows), and how many others were dropped."""
        joined = frame.join(self.ports, on=["device", "port"], how="left", maintain_order="left")
        mine = joined["_mine"].fill_null(False)
        mine = mine | frame["port"].is_null()
        kept = frame.filter(mine)
        return kept, frame.height - kept.height
