"""Public entry points of the collector for the CLI wiring."""

from __future__ import annotations

import polars as pl

from collector.config import ConfigError, load_config
from collector.daemon import Collector, run_config
from collector.explain import Explanation, explain
from collector.poller import DeviceState, poll_group
from collector.profile import ProfileError, UnknownProfile, describe, load_profile, profile_names
from collector.publisher import MqttPublisher
from collector.scheduler import Breaker
from collector.transport import SnmpCredentials, Target, open_transport
from linkmargin.samples import conform
from linkmargin.shards import Shard


async def poll_once(
    target: Target, profile: str = "auto", groups: list[str] | None = None, transport: str = "gufo"
) -> pl.DataFrame:
    """Discover and poll ``groups`` of one target once; returns one conformed sample batch."""
    state = DeviceState(name=target.name)
    frames = []
    async with open_transport(target, transport) as tr:
        for g in groups or ["counters", "dom"]:
            frames.append(await poll_group(tr, state, g, profile))
    return conform(pl.concat(frames))


async def run_from_config(path: object, transport: str | None = None, shard: Shard | None = None) -> None:
    """Run the daemon from a collector config file (see configs/collector.example.yaml).

    ``transport`` overrides the file's; raises :class:`ConfigError` (every problem) if it is invalid.
    """
    await run_config(str(path), transport=transport, shard=shard)


__all__ = [
    "Breaker",
    "Collector",
    "ConfigError",
    "Explanation",
    "MqttPublisher",
    "ProfileError",
    "SnmpCredentials",
    "Target",
    "UnknownProfile",
    "describe",
    "explain",
    "load_config",
    "load_profile",
    "poll_once",
    "profile_names",
    "run_from_config",
]
