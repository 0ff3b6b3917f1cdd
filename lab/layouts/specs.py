"""Vendor layouts as data: OIDs, encodings, index schemes, names (the MIBs in docs/ARCHITECTURE.md "Sources").

Each row below restates a vendor's MIB or agent behaviour. sysObjectID values and the
ifIndex numbering are lab choices shaped like the vendor's (marked [lab]); the collector must not
rely on them beyond "this prefix is this vendor".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

# ENTITY-SENSOR-MIB enums (RFC 3433)
WATTS, AMPERES, VOLTS_DC, CELSIUS = 6, 5, 4, 8
MILLI, UNITS = 8, 9
# CISCO-ENTITY-SENSOR-MIB: dBm(14) (SensorDataType in the MIB)
CISCO_DBM = 14

ENT_PHYSICAL = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1)
ENT_ALIAS = (1, 3, 6, 1, 2, 1, 47, 1, 3, 2, 1, 2)
ENT_SENSOR = (1, 3, 6, 1, 2, 1, 99, 1, 1, 1)
ARISTA_THRESH = (1, 3, 6, 1, 4, 1, 30065, 3, 12, 1, 1, 1)
ARISTA_PHY = (1, 3, 6, 1, 4, 1, 30065, 3, 37, 1, 1, 1)  # aristaPhyIntfTable .1 = entry
CISCO_SENSOR = (1, 3, 6, 1, 4, 1, 9, 9, 91, 1, 1, 1, 1)
CISCO_THRESH = (1, 3, 6, 1, 4, 1, 9, 9, 91, 1, 2, 1, 1)
JNX_DOM = (1, 3, 6, 1, 4, 1, 2636, 3, 60, 1, 1, 1, 1)
JNX_LANE = (1, 3, 6, 1, 4, 1, 2636, 3, 60, 1, 2, 1, 1)
SYSTEM = (1, 3, 6, 1, 2, 1, 1)
IF_NUMBER = (1, 3, 6, 1, 2, 1, 2, 1, 0)
IF_TABLE = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IFX_TABLE = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
DOT3_STATS = (1, 3, 6, 1, 2, 1, 10, 7, 2, 1)
MAU_PPL = (1, 3, 111, 2, 802, 3, 1, 13, 1, 2, 3, 1)  # ifMauPerPCSLaneStatsEntry


@dataclass(frozen=True)
class SensorEncoding:
    """ENTITY-SENSOR type / scale / precision of one sensor kind."""

    type: int
    scale: int
    precision: int


@dataclass(frozen=True)
class LayoutSpec:
    """Everything that differs between vendor layouts, as data."""

    name: str
    sys_object_id: str
    sys_descr: str
    dom: str  # which DOM table family: entity_sensor | cisco_sensor | juniper_dom
    index_scheme: str  # how entity indices are numbered (see lab.layouts.indexing)
    if_index_base: int
    if_index_step: int
    sensors: dict[str, SensorEncoding] = field(default_factory=dict)
    sensor_name: str = "DOM {kind} Sensor for {port}{lane_suffix}"
    entity_name_empty: bool = False  # EOS reports entPhysicalName empty on sensors
    thresholds: str | None = None  # None | arista | cisco
    phy_mib: bool = False  # ARISTA-PHY-MIB pre-FEC BER / uncorrected codewords
    port_entities: bool = True
    sensor_columns: tuple[int, ...] = (1, 2, 3, 4, 5)


SONIC_KINDS: Final = {
    "temp": "Temperature",
    "volt": "Voltage",
    "tx": "TX Power",
    "rx": "RX Power",
    "bias": "TX Bias",
}
CISCO_KINDS: Final = {
    "temp": "Transceiver Temperature Sensor",
    "volt": "Transceiver Voltage Sensor",
    "tx": "Transceiver Transmit Power Sensor",
    "rx": "Transceiver Receive Power Sensor",
    "bias": "Transceiver Bias Current Sensor",
}

LAYOUTS: Final[dict[str, LayoutSpec]] = {
    # SONiC sonic-snmpagent: columns .1-.5 only, no thresholds, current index scheme (1.3).
    "sonic": LayoutSpec(
        name="sonic",
        sys_object_id="1.3.6.1.4.1.8072.3.2.10",  # [lab] net-snmp linux agent OID, as SONiC's snmpd
        sys_descr="SONiC Software Version: SONiC.202405 - HwSku: lab-64x400G - Distribution: Debian 12",
        dom="entity_sensor",
        index_scheme="sonic_current",
        if_index_base=1,
        if_index_step=1,
        sensors={
            "temp": SensorEncoding(CELSIUS, UNITS, 6),
            "volt": SensorEncoding(VOLTS_DC, UNITS, 4),
            "tx": SensorEncoding(WATTS, MILLI, 4),
            "rx": SensorEncoding(WATTS, MILLI, 4),
            "bias": SensorEncoding(AMPERES, MILLI, 3),
        },
        port_entities=False,
    ),
    # Arista EOS: ENTITY-SENSOR + ARISTA-ENTITY-SENSOR-MIB thresholds + ARISTA-PHY-MIB (1.2, 2.1).
    "arista": LayoutSpec(
        name="arista",
        sys_object_id="1.3.6.1.4.1.30065.1.3011.7060.3282.64",  # [lab] shaped like an EOS DCS-7060 OID
        sys_descr="Arista Networks EOS version 4.32.1F running on an Arista DCS-7060DX5-64S",
        dom="entity_sensor",
        index_scheme="arista_fixed",
        if_index_base=1001,
        if_index_step=1000,
        sensors={
            "temp": SensorEncoding(CELSIUS, UNITS, 1),
            "volt": SensorEncoding(VOLTS_DC, UNITS, 2),
            "tx": SensorEncoding(WATTS, MILLI, 4),
            "rx": SensorEncoding(WATTS, MILLI, 4),
            "bias": SensorEncoding(AMPERES, MILLI, 2),
        },
        sensor_name="DOM {kind} Sensor for {port}{lane_suffix}",
        entity_name_empty=True,
        thresholds="arista",
        phy_mib=True,
        sensor_columns=(1, 2, 3, 4, 5, 6, 7, 8),
    ),
    # Cisco NX-OS: CISCO-ENTITY-SENSOR-MIB, dBm type, per-lane entities, threshold table (1.2).
    "cisco": LayoutSpec(
        name="cisco",
        sys_object_id="1.3.6.1.4.1.9.12.3.1.3.2087",  # [lab] shaped like a Nexus 9000 cevChassis OID
        sys_descr="Cisco Nexus Operating System (NX-OS) Software, Version 10.4(3)",
        dom="cisco_sensor",
        index_scheme="cisco_nxos",
        if_index_base=436207616,  # [lab] NX-OS style: 0x1a000000 + (port-1) << 12
        if_index_step=4096,
        sensors={
            "temp": SensorEncoding(CELSIUS, UNITS, 1),
            "volt": SensorEncoding(VOLTS_DC, UNITS, 2),
            "tx": SensorEncoding(CISCO_DBM, UNITS, 1),
            "rx": SensorEncoding(CISCO_DBM, UNITS, 1),
            "bias": SensorEncoding(AMPERES, MILLI, 1),
        },
        sensor_name="{port}{lane_infix} {kind}",
        thresholds="cisco",
    ),
    # Juniper Junos: JUNIPER-DOM-MIB module table (power 0 on multi-lane optics) + 0-based lane table.
    "juniper": LayoutSpec(
        name="juniper",
        sys_object_id="1.3.6.1.4.1.2636.1.1.1.4.155",  # [lab] shaped like a jnxProductQFX OID
        sys_descr="Juniper Networks, Inc. qfx5220-32cd Ethernet Switch, kernel JUNOS 23.4R1",
        dom="juniper_dom",
        index_scheme="juniper",
        if_index_base=510,
        if_index_step=1,
    ),
}

# Cisco threshold rows per sensor kind: (thrIdx, severity, relation, which limit). Order follows the
# example in centreon/centreon-plugins#256 (3.4 / 0.4 / -8.2 / -12.2 = HA, HW, LW, LA);
# severity 20 major / 10 minor, relation 3 gt / 1 lt. Consumers must read severity+relation.
CISCO_THRESHOLD_ROWS: Final = ((1, 20, 3, "ha"), (2, 10, 3, "hw"), (3, 10, 1, "lw"), (4, 20, 1, "la"))
# ARISTA-ENTITY-SENSOR-MIB columns: 1 LowWarning, 2 LowCritical, 3 HighWarning, 4 HighCritical.
ARISTA_THRESHOLD_COLUMNS: Final = ((1, "lw"), (2, "la"), (3, "hw"), (4, "ha"))
ARISTA_UNSET: Final = 1_000_000_000  # +-1e9 = "not set"
# Arista leaves voltage thresholds unset and low temperature thresholds unset (sentinel rows exist).
ARISTA_UNSET_LIMITS: Final = {
    ("volt", "lw"),
    ("volt", "la"),
    ("volt", "hw"),
    ("volt", "ha"),
    ("temp", "lw"),
    ("temp", "la"),
}
