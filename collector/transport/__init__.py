"""SNMP transports: one small interface, two implementations (gufo_snmp fast, pysnmp portable)."""

from __future__ import annotations

from collector.transport.base import SnmpError, SnmpTimeout, Target, Transport, VarBinds
from linkmargin.credentials import SnmpCredentials

TRANSPORTS = ("gufo", "pysnmp")


def open_transport(target: Target, kind: str = "gufo") -> Transport:
    """A transport of ``kind`` ("gufo" or "pysnmp") for ``target``; use with ``async with``."""
    if kind == "gufo":
        from collector.transport.gufo import GufoTransport

        return GufoTransport(target)
    if kind == "pysnmp":
        from collector.transport.pysnmp import PysnmpTransport

        return PysnmpTransport(target)
    raise ValueError(f"unknown transport {kind!r}; one of {TRANSPORTS}")


__all__ = [
    "TRANSPORTS",
    "SnmpCredentials",
    "SnmpError",
    "SnmpTimeout",
    "Target",
    "Transport",
    "VarBinds",
    "open_transport",
]
