"""The gNMI transport's own exceptions: each names the device it is about."""

from __future__ import annotations


class GnmiError(Exception):
    """A failure talking gNMI to one device (connect, auth, RPC, stream)."""

    def __init__(self, device: str, message: str) -> None:
        super().__init__(f"{device}: {message}")
        self.device = device


class GnmiAuthError(GnmiError):
    """The device refused our credentials, or a referenced secret cannot be read."""


class GnmiUnavailable(GnmiError):
    """The device cannot be reached, or the stream broke; worth a reconnect."""


class GnmiStalled(GnmiError):
    """The stream sent nothing for longer than its stall limit."""
