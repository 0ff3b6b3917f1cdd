"""Fixtures: the sample view, and the agent serving it from a background event loop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lab.agent import DeviceEndpoint, MibView
from tests.lab.agent.helpers import SHA256_USER, SHA_USER, ThreadedAgent, sample_view


@pytest.fixture(scope="module")
def view() -> MibView:
    """The sample view every module-scoped agent serves."""
    return sample_view()


@pytest.fixture(scope="module")
def agent(view: MibView) -> Iterator[ThreadedAgent]:
    """Two devices: SHA/AES user and community public; SHA-256/AES user and community c0mm."""
    devices = {
        "sw-sha": DeviceEndpoint(port=0, view=lambda: view, v3_user=SHA_USER),
        "sw-sha256": DeviceEndpoint(port=0, view=lambda: view, community="c0mm", v3_user=SHA256_USER),
    }
    a = ThreadedAgent(devices)
    yield a
    a.stop()
