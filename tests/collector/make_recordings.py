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


def system(soid: str, uptime: int = 123456) -> list[Row]:
    return [
        ("1.3.6.1.2.1.1.1.0", STR, "test agent"),
        ("1.3.6.1.2.1.1.2.0", OID, soid),
        ("1.3.6.1.2.1.1.3.0", TT, uptime),
    ]


def ifaces(ports: dict[int, tuple[str, str, int, int]]) -> list[Row]:
    """ifIndex -> (ifName, ifAlias, admin, oper)."""
    rows: list[Row] = []
    for i, (name, alias, admin, oper) in ports.items():
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
    for p in (2, 3):
        idx = 100300000 + p * 1000 + 213
        r += ent(idx, f"DOM RX Power Sensor for Ethernet{p}/1/1", 100300100 + p * 1000, 8)
        r += sensor(idx, 6, 8, 4, 0)
    r += [("1.3.6.1.4.1.30065.3.37.1.1.2.1", C64, 123456789012)]
    return r


def cisco() -> list[Row]:
    r = system("1.3.6.1.4.1.9.12.3.1.3.1812")
    ifx = 436207616
    r += ifaces({ifx: ("Ethernet1/1", "uplink", 1, 1)})
    r += ent(10, "Chassis", 0, 3, "Nexus")
    r += ent(22, "1/10/100/1000 Ethernet", 10, 10, "Ethernet1/1")
    r += [(f"{ALIAS}.22.0", OID, f"1.3.6.1.2.1.2.2.1.1.{ifx}")]
    cs = "1.3.6.1.4.1.9.9.91.1.1.1.1"
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


def write(name: str, rows: list[Row]) -> None:
    rows = [*rows, ("1.3.6.1.6.3.1.1.1.0", STR, "end")]  # a trailing OID so walks of snmpsim end cleanly
    rows.sort(key=lambda r: tuple(int(x) for x in r[0].split(".")))
    (OUT / f"{name}.snmprec").write_text("".join(f"{o}|{t}|{v}\n" for o, t, v in rows))


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    for fn in (arista, cisco, juniper, generic, sonic, acme):
        write(fn.__name__, fn())
