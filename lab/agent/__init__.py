"""Fast SNMP agents for the lab: simulated switches served over loopback UDP, one port per switch.

Why hand-written BER instead of pysnmp's agent: pysnmp's command responder manages about 10k
varbinds/s at best (snmpsim, built on it, measured 4-11k/s here), and the
lab must never be the bottleneck of the collector's benchmarks. Here each MibView pre-encodes every
varbind once, so answering a GETBULK is a bisect plus a join of byte slices; see
bench/results/lab_agent.md for the measured rate against snmpsim.

Public API:
- values: Integer, OctetString, ObjectIdentifier, Counter32, Gauge32, TimeTicks, Counter64,
  IpAddress (SnmpValue is their union); parse_oid / format_oid.
- MibView(entries): immutable sorted table; .get(oid), .updated(changes), iteration in OID order.
- AgentServer(host).start(devices) / .serve(devices) / .close() / .reboot(name) / .stats(name).
- DeviceEndpoint(port, view, community="public", v3_user=None, engine_id=None, engine_boots=1).
- V3User(name, auth_password, priv_password=None, auth_protocol=AuthProtocol.SHA, priv_protocol=AES).
- write_snmprec(view, path) / read_snmprec(path).
"""

from lab.agent.mibview import MibView
from lab.agent.server import AgentServer, AgentStats, DeviceEndpoint, default_engine_id
from lab.agent.snmprec import read_snmprec, write_snmprec
from lab.agent.usm import AuthProtocol, PrivProtocol, V3User
from lab.agent.values import (
    Counter32,
    Counter64,
    Gauge32,
    Integer,
    IpAddress,
    ObjectIdentifier,
    OctetString,
    Oid,
    SnmpValue,
    TimeTicks,
    format_oid,
    parse_oid,
)

__all__ = [
    "AgentServer",
    "AgentStats",
    "AuthProtocol",
    "Counter32",
    "Counter64",
    "DeviceEndpoint",
    "Gauge32",
    "Integer",
    "IpAddress",
    "MibView",
    "ObjectIdentifier",
    "OctetString",
    "Oid",
    "PrivProtocol",
    "SnmpValue",
    "TimeTicks",
    "V3User",
    "default_engine_id",
    "format_oid",
    "parse_oid",
    "read_snmprec",
    "write_snmprec",
]
