"""Writes tests/collector/recordings/*.snmprec: vendor layouts as their MIBs define them,
with the nasty cases. Run: python -m tests.collector.make_recordings. Expected decoded values are
computed by hand in test_decode_recordings.py, not here."""

from __future__ import annotations

from pathlib import Path

OUT = Path(__file__).parent / "recordings"
INT, STR, OID, C32, GAUGE, TT, C64 = 2, 4, 6, 65, 66, 67, 70
ENT = "1.3.6.1.2.1.47.1.1.1.1"
ALIAS = "1.3.6.1.2.1.47.1.3.2.1.2"
SENS = "1.3.6.1.2.1.99.1.1.1"
Row = tuple[str, int, object]


def system(soid: str, uptime: int = 123456, descr: str = "test agent") -> list[Row]:
    return [
        ("1.3.6.1.2.1.1.1.0", STR, descr),
        ("1.3.6.1.2.1.1.2.0", OID, soid),
        ("1.3.6.1.2.1.1.3.0", TT, uptime),
    ]


def ifaces(ports: dict[int, tuple[str, str, int, int]], descr: dict[int, str] | None = None) -> list[Row]:
    """ifIndex -> (ifName, ifAlias, admin, oper); ``descr``: ifDescr where it differs from ifName."""
    rows: list[Row] = []
    for i, (name, alias, admin, oper) in ports.items():
        rows += [(f"1.3.6.1.2.1.2.2.1.2.{i}", STR, (descr or {}).get(i, name))]
        rows += [
            (f"1.3.6.1.2.1.2.2.1.1.{i}", INT, i),
            (f"1.3.6.1.2.1.2.2.1.7.{i}", INT, admin),
            (f"1.3.6.1.2.1.2.2.1.8.{i}", INT, oper),
            (f"1.3.6.1.2.1.2.2.1.9.{i}", TT, 1000 + i),
            (f"1.3.6.1.2.1.2.2.1.14.{i}", C32, 7),
            (f"1.3.6.1.2.1.31.1.1.1.1.{i}", STR, name),
            (f"1.3.6.1.2.1.31.1.1.1.6.{i}", C64, 1000 * i),
            (f"1.3.6.1.2.1.31.1.1.1.18.{i}", STR, alias),
        ]
    return rows


def ent(idx: int, descr: str, contained: int, cls: int, name: str = "") -> list[Row]:
    return [
        (f"{ENT}.2.{idx}", STR, descr),
        (f"{ENT}.4.{idx}", INT, contained),
        (f"{ENT}.5.{idx}", INT, cls),
        (f"{ENT}.7.{idx}", STR, name),
    ]


def sensor(
    idx: int,
    typ: int,
    scale: int,
    prec: int,
    value: object,
    status: int = 1,
    units: str = "",
    root: str = SENS,
    vtag: int = INT,
) -> list[Row]:
    rows: list[Row] = [
        (f"{root}.1.{idx}", INT, typ),
        (f"{root}.2.{idx}", INT, scale),
        (f"{root}.3.{idx}", INT, prec),
        (f"{root}.4.{idx}", vtag, value),
        (f"{root}.5.{idx}", INT, status),
    ]
    if units:
        rows.append((f"{root}.6.{idx}", STR, units))
    return rows


def arista() -> list[Row]:
    r = system("1.3.6.1.4.1.30065.1.3011.7280.3191")
    r += ifaces({1: ("Ethernet1/1", "", 1, 1), 2: ("Ethernet2/1", "", 1, 2), 3: ("Ethernet3/1", "", 2, 2)})
    r += ent(1, "Chassis", 0, 3)
    for p in (1, 2, 3):
        x = 100300100 + p * 1000
        r += ent(x, f"Xcvr for Ethernet{p}/1", 1, 10)
    p1 = 100301000
    r += ent(p1 + 201, "DOM Temperature Sensor for Ethernet1/1", p1 + 100, 8)
    r += sensor(p1 + 201, 8, 9, 1, 252)
    r += ent(p1 + 202, "DOM Voltage Sensor for Ethernet1/1", p1 + 100, 8)
    r += sensor(p1 + 202, 4, 9, 2, 335)
    for lane, (bias, tx, rx, rx_status) in {
        1: (847, 6582, 5012, 1),
        2: (850, 1_000_000_000, 0, 1),
        3: (851, 6000, 4000, 2),
        4: (852, 6100, 10000, 1),
    }.items():
        for s, kind, val, typ, scale, prec, st in (
            (1, "TX Bias", bias, 5, 8, 2, 1),
            (2, "TX Power", tx, 6, 8, 4, 1),
            (3, "RX Power", rx, 6, 8, 4, rx_status),
        ):
            idx = p1 + 200 + lane * 10 + s
            r += ent(idx, f"DOM {kind} Sensor for Ethernet1/1/{lane}", p1 + 100, 8)
            r += sensor(idx, typ, scale, prec, val, st)
    thr = "1.3.6.1.4.1.30065.3.12.1.1.1"
    for idx, vals in {
        p1 + 213: (1000, 500, 1_000_000_000, 25119),
        p1 + 212: (5000, 4000, 2000, 3000),
        p1 + 201: (0, 0, 0, 0),
    }.items():
        r += [(f"{thr}.{c}.{idx}", INT, v) for c, v in zip((1, 2, 3, 4), vals, strict=True)]
    # a fifth Rx sensor reading raw 1 at milli/precision 4: 0.0001 mW, the SFF-8472 floor (-40 dBm)
    r += ent(p1 + 253, "DOM RX Power Sensor for Ethernet1/1/5", p1 + 100, 8)
    r += sensor(p1 + 253, 6, 8, 4, 1)
    for p in (2, 3):
        idx = 100300000 + p * 1000 + 213
        r += ent(idx, f"DOM RX Power Sensor for Ethernet{p}/1/1", 100300100 + p * 1000, 8)
        r += sensor(idx, 6, 8, 4, 0)
    r += [("1.3.6.1.4.1.30065.3.37.1.1.2.1", C64, 123456789012)]
    return r


def cisco() -> list[Row]:
    r = system("1.3.6.1.4.1.9.12.3.1.3.1812")
    ifx = 436207616
    r += ifaces({ifx: ("Ethernet1/1", "uplink", 1, 1), ifx + 4096: ("Ethernet1/2", "", 1, 2)})
    r += ent(10, "Chassis", 0, 3, "Nexus")
    r += ent(22, "1/10/100/1000 Ethernet", 10, 10, "Ethernet1/1")
    r += [(f"{ALIAS}.22.0", OID, f"1.3.6.1.2.1.2.2.1.1.{ifx}")]
    r += ent(23, "1/10/100/1000 Ethernet", 10, 10, "Ethernet1/2")
    r += [(f"{ALIAS}.23.0", OID, f"1.3.6.1.2.1.2.2.1.1.{ifx + 4096}")]
    cs = "1.3.6.1.4.1.9.9.91.1.1.1.1"
    for idx, name, typ, prec, val in (
        (305, "Ethernet1/2 Lane 1 Transceiver Receive Power Sensor", 14, 1, 0),  # down port: placeholder
        (306, "Ethernet1/1 Lane 3 Transceiver Receive Power Sensor", 14, 1, 0),  # up port: a real 0.0 dBm
    ):
        port_ent = 23 if idx == 305 else 22
        r += ent(idx, "Transceiver sensor", port_ent, 8, name)
        r += sensor(idx, typ, 9, prec, val, root=cs)
        r += [(f"{cs}.8.{idx}", INT, port_ent)]
    for idx, name, typ, prec, val in (
        (300, "Ethernet1/1 Lane 1 Transceiver Receive Power Sensor", 14, 1, -9),
        (301, "Ethernet1/1 Lane 2 Transceiver Receive Power Sensor", 14, 1, -400),
        (302, "Ethernet1/1 Lane 1 Transceiver Transmit Power Sensor", 14, 1, -23),
        (303, "Ethernet1/1 Transceiver Temperature Sensor", 8, 1, 315),
        (304, "Ethernet1/1 Lane 1 Transceiver Bias Current Sensor", 5, 1, 75),
    ):
        r += ent(idx, "Transceiver sensor", 22, 8, name)
        r += sensor(idx, typ, 8 if typ == 5 else 9, prec, val, root=cs)
        r += [(f"{cs}.8.{idx}", INT, 22)]
    th = "1.3.6.1.4.1.9.9.91.1.2.1.1"
    for n, (sev, rel, val) in {1: (30, 1, -122), 2: (10, 3, 4), 3: (30, 4, 34), 4: (10, 2, -82)}.items():
        r += [(f"{th}.2.300.{n}", INT, sev), (f"{th}.3.300.{n}", INT, rel), (f"{th}.4.300.{n}", INT, val)]
    return r


def juniper() -> list[Row]:
    r = system("1.3.6.1.4.1.2636.1.1.1.2.82")
    r += ifaces({520: ("et-0/0/0", "", 1, 1), 521: ("xe-0/0/1", "", 1, 1)})
    cur = "1.3.6.1.4.1.2636.3.60.1.1.1.1"
    for col, (a, b) in {
        5: (0, -312),
        6: (6500, 7120),
        7: (0, -250),
        8: (38, 41),
        25: (3281, 3300),
        30: (4, 1),
        9: (300, 300),
        10: (-1400, -1400),
        11: (0, 0),
        12: (-1100, -1100),
    }.items():
        r += [(f"{cur}.{col}.520", INT, a), (f"{cur}.{col}.521", INT, b)]
    lane = "1.3.6.1.4.1.2636.3.60.1.2.1.1"
    for ln, (rx, bias, tx, t) in enumerate(
        [(-210, 6500, -150, 40), (-198, 6510, -151, 40), (-4000, 6520, -152, 41), (-225, 6530, -153, 41)]
    ):
        r += [
            (f"{lane}.6.520.{ln}", INT, rx),
            (f"{lane}.7.520.{ln}", INT, bias),
            (f"{lane}.8.520.{ln}", INT, tx),
            (f"{lane}.9.520.{ln}", INT, t),
        ]
    return r


def generic() -> list[Row]:
    r = system("1.3.6.1.4.1.99999.1")
    r += ifaces({1: ("swp1", "", 1, 1)})
    r[-2] = ("1.3.6.1.2.1.31.1.1.1.6.1", C64, 18446744073709551000)
    r += [("1.3.6.1.2.1.10.7.2.1.3.1", C32, 4294967295)]
    r += [*ent(10, "port", 0, 10, "front-port-1"), (f"{ALIAS}.10.0", OID, "1.3.6.1.2.1.2.2.1.1.1")]
    r += ent(11, "QSFP28 transceiver", 10, 9, "xcvr-1")
    r += [
        (f"{ENT}.11.11", STR, "SN-A1"),
        (f"{ENT}.12.11", STR, "Acme Optics"),
        (f"{ENT}.13.11", STR, "QSFP28-LR4"),
    ]
    for idx, descr, args in (
        (12, "Transceiver Rx Power Lane 1", dict(typ=1, scale=9, prec=2, value=-312, units="dBm")),
        (
            13,
            "Transceiver Rx Power Lane 2",
            dict(typ=1, scale=9, prec=2, value="-inf", units="dBm", vtag=STR),
        ),
        (14, "Transceiver Tx Bias Lane 1", dict(typ=5, scale=7, prec=0, value=6800)),
        (15, "Transceiver Temperature", dict(typ=8, scale=9, prec=6, value=35250000)),
        (16, "Transceiver Voltage", dict(typ=4, scale=8, prec=0, value=3300)),
        (17, "Transceiver Rx Power Lane 3", dict(typ=1, scale=9, prec=2, value=-1000000000, units="dBm")),
    ):
        r += ent(idx, descr, 11, 8)
        r += sensor(idx, **args)  # type: ignore[arg-type]
    return r


def sonic() -> list[Row]:
    r = system("1.3.6.1.4.1.8072.3.2.10")
    r += ifaces({1: ("Ethernet0", "etp1", 1, 1), 5: ("Ethernet4", "etp2", 1, 1)})
    r += ent(1, "Chassis", 0, 3)
    x = 1_000_000_100  # current scheme: 1e9 + ifIndex*100 (+ type*10 + lane)
    r += ent(x, "QSFP-DD for etp1", 1, 10, "Ethernet0")
    for idx, descr, args in (
        (x + 31, "DOM RX Power Sensor for etp1/1", (6, 8, 4, 7943, 1)),
        (x + 32, "DOM RX Power Sensor for etp1/2", (6, 8, 4, 0, 2)),
        (x + 38, "DOM RX Power Sensor for etp1/8", (6, 8, 4, 1259, 1)),
        (x + 11, "DOM Temperature Sensor for etp1", (8, 9, 6, 30500000, 1)),
        (x + 41, "DOM TX Bias Sensor for etp1/1", (5, 8, 3, 6750, 1)),
        (x + 51, "DOM Voltage Sensor for etp1", (4, 9, 4, 32900, 1)),
    ):
        r += ent(idx, descr, x, 8, descr)
        r += sensor(idx, *args)
    r += ent(5000, "QSFP28 for etp2", 1, 10, "Ethernet4")  # old scheme: ifIndex*1000 + lane*10 + id
    r += ent(5011, "DOM RX Power Sensor for etp2/1", 5000, 8, "DOM RX Power Sensor for etp2/1")
    r += sensor(5011, 6, 8, 4, 5012)
    return r


def acme() -> list[Row]:
    """A vendor no packaged profile knows (test_profile_yaml.py adds it as YAML only): ENTITY-SENSOR
    rows, its own sysObjectID, sensors named "Optic <port> <quantity> Channel <0-based lane>"."""
    r = system("1.3.6.1.4.1.99998.2.1")
    r += ifaces({1: ("eth1/1", "", 1, 1), 2: ("eth1/2", "", 1, 1)})
    for idx, descr, args in (
        (101, "Optic eth1/1 Receive Optical Power Channel 0", (6, 8, 4, 5012)),  # 0.5012 mW
        (102, "Optic eth1/1 Receive Optical Power Channel 1", (6, 8, 4, 0)),  # 0 mW: no light
        (103, "Optic eth1/1 Transmit Optical Power Channel 0", (6, 8, 4, 6310)),
        (104, "Optic eth1/1 Laser Current Channel 0", (5, 8, 1, 72)),  # 7.2 mA
        (105, "Optic eth1/1 Module Temp", (8, 9, 1, 412)),  # 41.2 C
        (201, "Optic eth1/2 Receive Optical Power Channel 3", (6, 8, 4, 1259)),
    ):
        r += ent(idx, descr, 0, 8)
        r += sensor(idx, *args)
    return r


def dell_table(ifx: int, tx: list[str], rx: list[str], temp: str, volt: str, bias: list[str]) -> list[Row]:
    """One dellNetIfTransceiverDataTable row (DELL-NETWORKING-IF-EXTENSION-MIB): DisplayStrings."""
    t = "1.3.6.1.4.1.6027.3.11.1.3.1.1"
    rows: list[Row] = [(f"{t}.3.{ifx}", INT, 1)]  # dellNetIfTransOpticsPresent true(1)
    rows += [(f"{t}.{8 + i}.{ifx}", STR, v) for i, v in enumerate(tx)]
    rows += [(f"{t}.{12 + i}.{ifx}", STR, v) for i, v in enumerate(rx)]
    rows += [(f"{t}.16.{ifx}", STR, temp), (f"{t}.17.{ifx}", STR, volt)]
    rows += [(f"{t}.{18 + i}.{ifx}", STR, v) for i, v in enumerate(bias)]
    return rows


def dell_os9() -> list[Row]:
    """OS9: a QSFP with an "N/A" and an empty lane and a -40.00 floor; a QSFP broken out into four
    10G sub-ports, each row repeating the module's four lanes; an SFP with empty lanes 2-4."""
    r = system("1.3.6.1.4.1.6027.1.3.23", descr="Dell Networking OS Version: 9.14(2.4)")
    subs = {2200 + k: (f"TenGigabitEthernet 1/49/{k}", "", 1, 1) for k in (1, 2, 3, 4)}
    r += ifaces({2101: ("fortyGigE 1/1", "", 1, 1), **subs, 2301: ("TenGigabitEthernet 1/2", "", 1, 1)})
    r += dell_table(
        2101, ["0.51", "0.47", "0.62", "0.55"], ["-2.34", "-1.87 ", "N/A", "-40.00"], "31.25", "3.29",
        ["6.512", "6.498", "", "6.601"],
    )  # fmt: skip
    for ifx in subs:
        r += dell_table(
            ifx, ["-0.50", "-0.61", "-0.72", "-0.83"], ["-3.01", "-3.12", "-3.23", "-3.34"], "29.50", "3.31",
            ["7.1", "7.2", "7.3", "7.4"],
        )  # fmt: skip
    r += dell_table(2301, ["-1.10", "", "", ""], ["0.00", "", "", ""], "27.00", "3.30", ["5.5", "", "", ""])
    return r


def dell_os10() -> list[Row]:
    """OS10: a QSFP28; a 4x breakout whose sub-port rows number their own lane as Lane1 (Lane2-4 "N/A")."""
    r = system(
        "1.3.6.1.4.1.674.11000.5000.100.2.1.9", descr="Dell SmartFabric OS10 Enterprise. OS Version: 10.5.4"
    )
    subs = {100 + k: (f"ethernet1/1/49:{k}", "", 1, 1) for k in (1, 2, 3, 4)}
    r += ifaces({1: ("ethernet1/1/1", "", 1, 1), **subs})
    r += dell_table(
        1, ["1.02", "0.98", "1.11", "1.05"], ["-1.50", "-1.60", "-1.70", "-1.80"], "33.00", "3.28",
        ["8.0", "8.1", "8.2", "8.3"],
    )  # fmt: skip
    for k, ifx in enumerate(subs, start=1):
        na = ["N/A", "N/A", "N/A"]
        r += dell_table(ifx, [f"-0.{k}0", *na], [f"-2.{k}0", *na], "30.00", "3.30", [f"6.{k}", *na])
    return r


def ocnos() -> list[Row]:
    """IPI-CMM-CHASSIS-MIB: per-channel rows (unit.module.channel), 0.001 dBm/mA, 0.01 C; -100001 and
    -100002 sentinels; a 4x breakout (xe49/1..4); a module of no port; a real 0.000 dBm."""
    r = system("1.3.6.1.4.1.36673.100.1.1.1", descr="OcNOS version 6.4.2")
    brk = {10050 + k: (f"xe49/{k}", "", 1, 1) for k in (1, 2, 3, 4)}
    r += ifaces({10001: ("ce0", "", 1, 1), 10003: ("xe2", "", 1, 1), **brk})
    eep, ddm = "1.3.6.1.4.1.36673.100.1.2.2.1", "1.3.6.1.4.1.36673.100.1.2.3.1"
    r += [(f"{eep}.42.1.{m}", INT, fp) for m, fp in ((1, 0), (3, 2), (50, 49), (61, 60))]
    r += [(f"{eep}.41.1.{m}", INT, 1) for m in (1, 3, 50, 61)]  # cmmTransPresence present(1)

    def chan(
        m: int, ch: int, temp: int, volt: int, bias: int, tx: int, rx: int, thr: bool = True
    ) -> list[Row]:
        vals = {2: temp, 7: volt, 12: bias, 17: tx, 22: rx}
        if thr:
            vals |= {3: -500, 4: 7500, 5: 0, 6: 7000, 8: 2970, 9: 3630, 10: 3135, 11: 3465}
            vals |= {13: 2000, 14: 12000, 15: 3000, 16: 10000, 18: -8000, 19: 4000, 20: -7000, 21: 3000}
            vals |= {23: -14000, 24: 3500, 25: -11000, 26: 2500}
        return [(f"{ddm}.{c}.1.{m}.{ch}", INT, v) for c, v in vals.items()]

    for ch, (bias, tx, rx) in enumerate(
        [(6512, 1020, -2100), (6498, 980, -2345), (6480, -100002, -100001), (6601, 1011, -40000)], start=1
    ):
        r += chan(1, ch, 3125, 3291, bias, tx, rx)
    for ch, rx in enumerate([-3000, -3100, -3200, -3300], start=1):
        r += chan(50, ch, 3000, 3300, 7000, 500, rx, thr=False)
    r += chan(3, 1, 2800, 3310, 5500, -1, 0, thr=False)  # xe2: Rx 0.000 dBm on an up port, a reading
    r += chan(61, 1, 2900, 3300, 5000, 100, -5000, thr=False)  # front panel 60: no such interface
    return r


HW_OPT = "1.3.6.1.4.1.2011.5.25.31.1.1.3.1"
HW_VRP = "Huawei Versatile Routing Platform Software VRP (R) software,"


def hw_opt(ent_idx: int, cols: dict[int, object]) -> list[Row]:
    """hwOpticalModuleInfoTable cells (HUAWEI-ENTITY-EXTENT-MIB) of one entity."""
    return [(f"{HW_OPT}.{c}.{ent_idx}", STR if isinstance(v, str) else INT, v) for c, v in cols.items()]


def huawei_vrp() -> list[Row]:
    """VRP5 (module power in uW): an SFP; an SFP without DOM (-1 everywhere, 0 uW); a QSFP whose
    module power is 0 beside per-lane strings with an empty lane and a -40.00 lane."""
    r = system(
        "1.3.6.1.4.1.2011.2.23.419",
        descr=f"{HW_VRP} Version 5.170 (S6720 V200R011C10SPC600)",
    )
    r += ifaces(
        {
            6: ("XGigabitEthernet0/0/1", "", 1, 1),
            7: ("XGigabitEthernet0/0/2", "", 1, 1),
            50: ("40GE0/0/1", "", 1, 1),
        }
    )
    r += ent(67108873, "10GE SFP+ port", 0, 10, "XGigabitEthernet0/0/1")
    r += ent(67108874, "10GE SFP+ port", 0, 10, "XGigabitEthernet0/0/2")
    r += ent(67109000, "40GE QSFP+ port", 0, 10, "Port 0/0/1 (40GE)")  # name is no ifName: alias mapping
    r += [(f"{ALIAS}.67109000.0", OID, "1.3.6.1.2.1.2.2.1.1.50")]
    thr = {13: -1700, 14: 50, 15: -900, 16: 500, 20: -1500, 21: -100, 22: -700, 23: 300}
    r += hw_opt(67108873, {5: 36, 6: 3300, 7: 6512, 8: 501, 9: 612, **thr})
    r += hw_opt(67108874, {5: 35, 6: 3310, 7: -1, 8: 0, 9: -1, **{c: -1 for c in thr}})
    r += hw_opt(67109000, {5: 40, 6: 3290, 7: 6000, 8: 0, 9: 1000, 31: "5.90,5.90,,5.88",
                           32: "-1.21,-1.51,-1.83,-2.18", 33: "-0.25,-0.26,-40.00,-0.23"})  # fmt: skip
    return r


def huawei_ce() -> list[Row]:
    """CloudEngine, VRP8 (module power in 0.01 dBm): a QSFP28 with lane strings; an SFP with a -1 Tx;
    an SFP reading exactly 0.00 dBm on an up port (a reading)."""
    r = system(
        "1.3.6.1.4.1.2011.2.239.29",
        descr=f"{HW_VRP} Version 8.150 (CE6855HI V200R002C50SPC800)",
    )
    r += ifaces({15: ("100GE1/0/1", "", 1, 1), 16: ("10GE1/0/2", "", 1, 1), 17: ("10GE1/0/3", "", 1, 1)})
    for e, name in ((16850463, "100GE1/0/1"), (16850500, "10GE1/0/2"), (16850501, "10GE1/0/3")):
        r += ent(e, "port", 0, 10, name)
    lanes = {31: "5.90,5.91,5.92,5.93", 32: "-1.21,-1.51,-1.83,-2.18", 33: "-0.25,-0.26,-0.27,-0.23"}
    r += hw_opt(16850463, {5: 41, 6: 3310, 7: 5900, 8: -121, 9: -25, 13: -1801, 14: 400, **lanes})
    r += hw_opt(16850500, {5: 33, 6: 3300, 7: 7100, 8: -312, 9: -1})
    r += hw_opt(16850501, {5: 34, 6: 3300, 7: 7200, 8: 0, 9: -205})
    return r


def fs() -> list[Row]:
    """FS-FIBER-MIB: a QSFP28 whose module columns read 0 beside per-lane columns (one at the -40.00
    floor); an SFP with all-zero thresholds; a dark port."""
    r = system("1.3.6.1.4.1.52642.1.1.10.1.72", descr="FS Campus Switch (S5860-20SQ) By FS.COM Inc")
    r += ifaces({1: ("HundredGigabitEthernet 0/1", "", 1, 1), 2: ("TenGigabitEthernet 0/2", "", 1, 1),
                 3: ("TenGigabitEthernet 0/3", "", 1, 2)})  # fmt: skip
    t = "1.3.6.1.4.1.52642.1.1.10.2.105.1.1.1"
    cells = {
        1: {76: 0, 77: -210, 78: -198, 79: -4000, 80: -225, 81: 0, 82: 105, 83: 98, 84: 112, 85: 101,
            91: -1300, 92: 300, 93: -1500, 94: 500, 95: -800, 96: 400, 97: -1000, 98: 600},
        2: {76: -312, 81: -250, 91: 0, 92: 0, 93: 0, 94: 0},
        3: {76: -4000, 81: -230},
    }  # fmt: skip
    for ifx, cols in cells.items():
        r += [(f"{t}.{c}.{ifx}", INT, v) for c, v in cols.items()]
    return r


def cumulus() -> list[Row]:
    """Cumulus Linux: RFC 3433 sensors under ENTITY-MIB, port by entAliasMapping: micro-watts, a raw 1
    at 0.1 uW (the floor), an "N/A" string, dBm as type other + units, a dark port."""
    r = system("1.3.6.1.4.1.40310.1.2", descr="Cumulus Linux version 5.9.1 running on Mellanox SN3700")
    r += ifaces({3: ("swp1", "", 1, 1), 4: ("swp2", "", 1, 2)})
    r += [*ent(10, "swp1", 0, 10, "swp1"), (f"{ALIAS}.10.0", OID, "1.3.6.1.2.1.2.2.1.1.3")]
    r += [*ent(20, "swp2", 0, 10, "swp2"), (f"{ALIAS}.20.0", OID, "1.3.6.1.2.1.2.2.1.1.4")]
    r += ent(11, "QSFP28 transceiver", 10, 9, "swp1 xcvr")
    r += ent(21, "QSFP28 transceiver", 20, 9, "swp2 xcvr")
    for idx, descr, parent, args in (
        (12, "swp1 Rx Power Lane 1", 11, dict(typ=6, scale=7, prec=1, value=5012)),  # 501.2 uW
        (13, "swp1 Rx Power Lane 2", 11, dict(typ=6, scale=7, prec=1, value=1)),  # 0.1 uW: floor
        (14, "swp1 Rx Power Lane 3", 11, dict(typ=6, scale=7, prec=1, value="N/A", vtag=STR)),
        (15, "swp1 Rx Power Lane 4", 11, dict(typ=1, scale=9, prec=2, value=-325, units="dBm")),
        (16, "swp1 Tx Bias Lane 1", 11, dict(typ=5, scale=7, prec=0, value=6800)),  # 6800 uA
        (17, "swp1 Tx Power Lane 1", 11, dict(typ=6, scale=8, prec=4, value=6310)),  # 0.631 mW
        (18, "swp1 Temperature", 11, dict(typ=8, scale=9, prec=3, value=35125)),
        (19, "swp1 Voltage", 11, dict(typ=4, scale=8, prec=0, value=3300)),  # 3300 mV
        (22, "swp2 Rx Power Lane 1", 21, dict(typ=6, scale=7, prec=1, value=0)),
    ):
        r += ent(idx, descr, parent, 8)
        r += sensor(idx, **args)  # type: ignore[arg-type]
    return r


def onyx() -> list[Row]:
    """Onyx: RFC 3433 sensors named by port; a nonoperational lane; a 2x split 4-lane module whose two
    sub-ports both report all four lanes; an admin-down port."""
    r = system("1.3.6.1.4.1.33049.1.1.1.2700", descr="Onyx, MSN2700, 3.10.4006")
    r += ifaces({1: ("Eth1/1", "", 1, 1), 2: ("Eth1/2/1", "", 1, 1), 3: ("Eth1/2/2", "", 1, 1),
                 4: ("Eth1/3", "", 2, 2)})  # fmt: skip
    rows: list[tuple[int, str, tuple[int, int, int, object, int]]] = [
        (101, "Eth1/1 Rx Power Lane 1", (6, 8, 4, 7943, 1)),
        (102, "Eth1/1 Rx Power Lane 2", (6, 8, 4, 0, 1)),
        (103, "Eth1/1 Rx Power Lane 3", (6, 8, 4, 6310, 3)),  # nonoperational(3)
        (104, "Eth1/1 Rx Power Lane 4", (6, 8, 4, 5012, 1)),
        (105, "Eth1/1 Tx Bias Lane 1", (5, 8, 3, 7125, 1)),
        (106, "Eth1/1 Temperature", (8, 9, 1, 345, 1)),
        (107, "Eth1/1 Voltage", (4, 8, 0, 3280, 1)),
        (401, "Eth1/3 Rx Power Lane 1", (6, 8, 4, 0, 1)),
    ]
    for sub in (1, 2):
        for lane, val in enumerate((1000, 2000, 3000, 4000), start=1):
            rows.append((200 + sub * 10 + lane, f"Eth1/2/{sub} Rx Power Lane {lane}", (6, 8, 4, val, 1)))
    for idx, descr, (typ, scale, prec, val, st) in rows:
        r += ent(idx, descr, 0, 8)
        r += sensor(idx, typ, scale, prec, val, st)
    return r


def sonic_mlnx() -> list[Row]:
    """SONiC on Spectrum: ifAlias holds descriptions, the port alias (etp1, etp2a..d) is ifDescr; an
    8-lane module (lane 8 at the raw-1 floor); etp2 broken out 4x, every sub-port repeating the
    module's lanes; a port named EthernetN in its sensors."""
    r = system("1.3.6.1.4.1.8072.3.2.10", descr="SONiC Software Version: SONiC.202311 - HwSku: ACS-SN4700")
    ports = {1: ("Ethernet0", "uplink to spine1", 1, 1), 17: ("Ethernet16", "", 1, 1)}
    descr = {1: "etp1", 17: "Ethernet16"}
    for i, x in enumerate("abcd"):
        ports[9 + 2 * i] = (f"Ethernet{8 + 2 * i}", f"server {i}", 1, 1)
        descr[9 + 2 * i] = f"etp2{x}"
    r += ifaces(ports, descr)
    r += ent(1, "Chassis", 0, 3)

    def xcvr(
        ifx: int, kind: str, alias: str, name: str, sensors: list[tuple[int, str, tuple[int, ...]]]
    ) -> None:
        nonlocal r
        x = 1_000_000_000 + ifx * 100
        r += ent(x, f"{kind} for {alias}", 1, 10, name)
        for off, descr_, args in sensors:
            r += ent(x + off, descr_, x, 8, descr_)
            r += sensor(x + off, *args)  # type: ignore[arg-type]

    rx1 = [7943, 7079, 6310, 5623, 5012, 4467, 3981, 1]
    xcvr(1, "QSFP-DD", "etp1", "Ethernet0",
         [(30 + n, f"DOM RX Power Sensor for etp1/{n}", (6, 8, 4, v, 1)) for n, v in enumerate(rx1, start=1)]
         + [(11, "DOM Temperature Sensor for etp1", (8, 9, 6, 30500000, 1)),
            (43, "DOM TX Bias Sensor for etp1/3", (5, 8, 3, 6750, 1)),
            (51, "DOM Voltage Sensor for etp1", (4, 9, 4, 32900, 1))])  # fmt: skip
    for i, x in enumerate("abcd"):
        xcvr(9 + 2 * i, "QSFP28", f"etp2{x}", f"Ethernet{8 + 2 * i}",
             [(30 + n, f"DOM RX Power Sensor for etp2{x}/{n}", (6, 8, 4, v, 1))
              for n, v in enumerate([5012, 3981, 3162, 2512], start=1)])  # fmt: skip
    xcvr(17, "QSFP28", "Ethernet16", "Ethernet16",
         [(31, "DOM RX Power Sensor for Ethernet16/1", (6, 8, 4, 6310, 1)),
          (32, "DOM RX Power Sensor for Ethernet16/2", (6, 8, 4, 0, 2))])  # fmt: skip
    return r


def write(name: str, rows: list[Row]) -> None:
    rows = [*rows, ("1.3.6.1.6.3.1.1.1.0", STR, "end")]  # a trailing OID so walks of snmpsim end cleanly
    rows.sort(key=lambda r: tuple(int(x) for x in r[0].split(".")))
    (OUT / f"{name}.snmprec").write_text("".join(f"{o}|{t}|{v}\n" for o, t, v in rows))


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    vendors = (dell_os9, dell_os10, ocnos, huawei_vrp, huawei_ce, fs, cumulus, onyx, sonic_mlnx)
    for fn in (arista, cisco, juniper, generic, sonic, acme, *vendors):
        write(fn.__name__.replace("_", "-"), fn())
