"""Fuzz the decoders with garbage answers (hypothesis): never a crash, never a silent 0 or -inf."""

from __future__ import annotations

import asyncio

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.poller import DeviceState, poll_group
from collector.profile import load_profile, profile_names
from collector.transport import VarBinds

values = st.one_of(
    st.none(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.binary(max_size=12),
    st.sampled_from([b"-inf", b"inf", b"nan", b"N/A", b"12.5", "1.3.6.1.2.1.2.2.1.1.3", b"\xff\xfe"]),
    st.text(max_size=8),
)
suffix = st.lists(st.integers(min_value=0, max_value=2**32), min_size=0, max_size=3).map(
    lambda xs: "".join(f".{x}" for x in xs)
)


class FuzzTransport:
    """Answers every walk with arbitrary varbinds under (and sometimes outside) the walked root."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    async def __aenter__(self) -> FuzzTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def get(self, oids: list[str]) -> VarBinds:
        return VarBinds(list(oids), [self.data.draw(values) for _ in oids])

    async def bulk_walk(self, root: str, max_repetitions: int | None = None) -> VarBinds:
        n = self.data.draw(st.integers(0, 6))
        oids = [root + self.data.draw(suffix) for _ in range(n)]
        return VarBinds(oids, [self.data.draw(values) for _ in range(n)])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), profile=st.sampled_from(profile_names()))
def test_garbage_never_crashes_nor_fakes_readings(data: st.DataObject, profile: str) -> None:
    load_profile(profile)
    tr = FuzzTransport(data)
    state = DeviceState(name="fuzz")

    async def go() -> list[pl.DataFrame]:
        return [await poll_group(tr, state, g, profile) for g in ("discovery", "counters", "dom")]

    for f in asyncio.run(go()):
        assert (
            f.filter(
                pl.col("value").is_null() & pl.col("reason").is_null() & pl.col("metric").ne("sys_uptime_cs")
            ).height
            == 0
        )
        assert f.filter(pl.col("value").is_infinite() | pl.col("value").is_nan()).height == 0
